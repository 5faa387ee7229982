//! `rollwise eval`: judge labelled scenarios and score the verdicts.
