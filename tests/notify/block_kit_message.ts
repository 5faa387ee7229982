// The Slack message rollwise sends, in @slack/types' own Block Kit types: the
// JSON Schema in block_kit.schema.json is generated from this file by
// scripts/slack-block-schema.sh. Only the block types rollwise emits are
// allowed, so a block type added to the renderer must be added here too.
import type {
  ActionsBlock,
  ContextBlock,
  DividerBlock,
  HeaderBlock,
  SectionBlock,
} from "@slack/types";

export type RollwiseBlock =
  | HeaderBlock
  | SectionBlock
  | ContextBlock
  | DividerBlock
  | ActionsBlock;

/** An incoming-webhook payload or a chat.postMessage body. */
export interface SlackMessage {
  /** The notification fallback (push notifications, screen readers). */
  text: string;
  blocks: RollwiseBlock[];
  /** chat.postMessage only. */
  channel?: string;
  /** chat.postMessage only: the parent message of a threaded reply. */
  thread_ts?: string;
  unfurl_links?: boolean;
  unfurl_media?: boolean;
}
