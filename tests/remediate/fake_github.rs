//! A fake GitHub REST API on a loopback port, for the operations rollwise's
//! GitHub tools use. It keeps a small git object store (commits, trees,
//! branches) and pull requests, records every request, and checks each
//! request body and each response body against GitHub's own OpenAPI
//! description (tests/remediate/github-openapi-subset.json, extracted from
//! npm @octokit/openapi by scripts/github-openapi-subset.sh). Responses start
//! from the description's own examples, patched with this repository's data.
//! Anything unexpected (another repository, an unknown route, a schema
//! violation) is recorded as a violation for the test to assert on.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::schema::validate;

const SPEC: &str = include_str!("github-openapi-subset.json");
/// GitHub Enterprise Server's API prefix: the fake serves under it, so every
/// test proves that a base URL with a path works.
pub const PREFIX: &str = "/api/v3";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Option<Value>,
    pub status: u16,
    pub authorized: bool,
}

#[derive(Debug, Clone)]
pub struct Pr {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub draft: bool,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone)]
struct Commit {
    tree: String,
    parents: Vec<String>,
    message: String,
}

struct State {
    ops: Vec<Value>,
    owner: String,
    name: String,
    token: String,
    trees: HashMap<String, BTreeMap<String, String>>,
    commits: HashMap<String, Commit>,
    refs: BTreeMap<String, String>,
    prs: Vec<Pr>,
    requests: Vec<Recorded>,
    violations: Vec<String>,
    next_id: u64,
    /// Answer the next N requests with this status (a flaky GitHub).
    fail_next: (u32, u16),
}

#[derive(Clone)]
pub struct FakeGithub {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push('\n'); // GitHub wraps base64 content at 76 characters
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(A[((n >> (18 - 6 * j)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sha_of(n: u64) -> String {
    format!("{n:040x}")
}

impl FakeGithub {
    /// Serves `owner/name` whose default branch `main` holds the files under
    /// `fixture` (read recursively). Requests must carry `token`.
    pub fn start(
        rt: &tokio::runtime::Runtime,
        owner: &str,
        name: &str,
        fixture: &std::path::Path,
        token: &str,
    ) -> Self {
        let spec: Value = serde_json::from_str(SPEC).unwrap();
        let mut files = BTreeMap::new();
        read_tree(fixture, fixture, &mut files);
        let mut st = State {
            ops: spec["operations"].as_array().unwrap().clone(),
            owner: owner.into(),
            name: name.into(),
            token: token.into(),
            trees: HashMap::new(),
            commits: HashMap::new(),
            refs: BTreeMap::new(),
            prs: Vec::new(),
            requests: Vec::new(),
            violations: Vec::new(),
            next_id: 0x1000,
            fail_next: (0, 0),
        };
        let tree = st.new_sha();
        st.trees.insert(tree.clone(), files);
        let commit = st.new_sha();
        st.commits.insert(
            commit.clone(),
            Commit {
                tree,
                parents: vec![],
                message: "v2.4.0".into(),
            },
        );
        st.refs.insert("main".into(), commit);
        let state = Arc::new(Mutex::new(st));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let s2 = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = s2.clone();
                async move { handle(&s, method, uri, headers, body) }
            },
        );
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGithub {
            base_url: format!("http://{addr}{PREFIX}"),
            state,
        }
    }

    /// The next `n` requests get `status` (with GitHub's error body).
    pub fn fail_next(&self, n: u32, status: u16) {
        self.state.lock().unwrap().fail_next = (n, status);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }
    pub fn prs(&self) -> Vec<Pr> {
        self.state.lock().unwrap().prs.clone()
    }
    pub fn branch_head(&self, b: &str) -> Option<String> {
        self.state.lock().unwrap().refs.get(b).cloned()
    }
    /// The file `path` as the head of `branch` has it.
    pub fn file_at(&self, branch: &str, path: &str) -> Option<String> {
        let st = self.state.lock().unwrap();
        let c = st.commits.get(st.refs.get(branch)?)?;
        st.trees.get(&c.tree)?.get(path).cloned()
    }
    pub fn commit_message(&self, branch: &str) -> Option<String> {
        let st = self.state.lock().unwrap();
        Some(st.commits.get(st.refs.get(branch)?)?.message.clone())
    }
    /// Every write request (not GET).
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }
}

fn read_tree(root: &std::path::Path, dir: &std::path::Path, out: &mut BTreeMap<String, String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            read_tree(root, &p, out);
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            out.insert(
                p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                text,
            );
        }
    }
}

impl State {
    fn new_sha(&mut self) -> String {
        self.next_id += 1;
        sha_of(self.next_id)
    }

    /// The operation whose path template matches, with the path parameters.
    fn route(&self, method: &str, path: &str) -> Option<(Value, HashMap<String, String>)> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        for op in &self.ops {
            if op["method"] != method {
                continue;
            }
            let tpl: Vec<&str> = op["path"]
                .as_str()?
                .trim_start_matches('/')
                .split('/')
                .collect();
            let mut params = HashMap::new();
            let mut ok = true;
            for (i, t) in tpl.iter().enumerate() {
                let last = i == tpl.len() - 1;
                if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    // The last parameter takes the rest: {path} and {ref} contain slashes.
                    let rest = last && (name == "path" || name == "ref");
                    let v = if rest {
                        segs.get(i..).map(|s| s.join("/"))
                    } else {
                        segs.get(i).map(|s| s.to_string())
                    };
                    match v {
                        Some(v) if !v.is_empty() => {
                            params.insert(name.to_owned(), pct_decode(&v));
                        }
                        _ => ok = false,
                    }
                } else if segs.get(i) != Some(t) {
                    ok = false;
                }
                if !ok {
                    break;
                }
            }
            let swallows = tpl.last().is_some_and(|t| *t == "{path}" || *t == "{ref}");
            if ok && (tpl.len() == segs.len() || (swallows && segs.len() > tpl.len())) {
                return Some((op.clone(), params));
            }
        }
        None
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_map(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_owned(), pct_decode(v)))
        })
        .collect()
}

fn not_found() -> (StatusCode, Value) {
    (
        StatusCode::NOT_FOUND,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    )
}

fn unprocessable(msg: &str) -> (StatusCode, Value) {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"message": msg, "documentation_url": "https://docs.github.com/rest"}),
    )
}

fn handle(
    state: &Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = state.lock().unwrap();
    let full = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let body_json: Option<Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let authorized = auth == format!("Bearer {}", st.token);
    let mut rec = Recorded {
        method: method.to_string(),
        path: full.clone(),
        query: query.clone(),
        body: body_json.clone(),
        status: 0,
        authorized,
    };
    let (status, resp) = (|| {
        if st.fail_next.0 > 0 {
            st.fail_next.0 -= 1;
            let code = StatusCode::from_u16(st.fail_next.1).unwrap();
            return (code, json!({"message": "Server Error"}));
        }
        let Some(path) = full.strip_prefix(PREFIX) else {
            st.violations
                .push(format!("request outside {PREFIX}: {method} {full}"));
            return not_found();
        };
        let Some((op, params)) = st.route(method.as_str(), path) else {
            st.violations.push(format!(
                "no such operation in the description: {method} {path}"
            ));
            return not_found();
        };
        let id = op["operationId"].as_str().unwrap().to_owned();
        if !authorized {
            st.violations
                .push(format!("{id}: missing or wrong Authorization"));
        }
        if let Some(o) = params.get("owner")
            && (o != &st.owner || params.get("repo") != Some(&st.name))
        {
            st.violations.push(format!(
                "{id}: request for another repository {o}/{:?}",
                params.get("repo")
            ));
            return not_found();
        }
        let q = query_map(&query);
        for k in q.keys() {
            if !op["query"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == k.as_str())
            {
                st.violations.push(format!(
                    "{id}: query parameter `{k}` is not in the description"
                ));
            }
        }
        match (&op["request"], &body_json) {
            (Value::Null, None) => {}
            (Value::Null, Some(_)) => st
                .violations
                .push(format!("{id}: a body where none is defined")),
            (_, None) => st.violations.push(format!("{id}: no JSON body")),
            (schema, Some(b)) => {
                for e in validate(schema, b) {
                    st.violations.push(format!("{id} request: {e}"));
                }
            }
        }
        let (status, resp) = answer(
            &mut st,
            &id,
            &op,
            &params,
            &q,
            body_json.as_ref().unwrap_or(&Value::Null),
        );
        if status.as_u16() == op["status"].as_u64().unwrap() as u16 {
            for e in validate(&op["response"], &resp) {
                st.violations.push(format!("{id} response: {e}"));
            }
        }
        (status, resp)
    })();
    rec.status = status.as_u16();
    st.requests.push(rec);
    (status, axum::Json(resp)).into_response()
}

fn example(op: &Value) -> Value {
    op["example"].clone()
}

fn pr_json(op_example: &Value, st: &State, pr: &Pr) -> Value {
    let mut p = op_example.clone();
    if p.is_array() {
        p = p[0].clone();
    }
    let html = format!(
        "https://github.com/{}/{}/pull/{}",
        st.owner, st.name, pr.number
    );
    // The example's team lacks the required `type`; no teams are requested here.
    p["requested_teams"] = json!([]);
    p["number"] = json!(pr.number);
    p["html_url"] = json!(html);
    p["title"] = json!(pr.title);
    p["body"] = json!(pr.body);
    p["draft"] = json!(pr.draft);
    p["state"] = json!("open");
    p["head"]["ref"] = json!(pr.head);
    p["head"]["label"] = json!(format!("{}:{}", st.owner, pr.head));
    p["base"]["ref"] = json!(pr.base);
    p
}

fn answer(
    st: &mut State,
    id: &str,
    op: &Value,
    params: &HashMap<String, String>,
    q: &HashMap<String, String>,
    body: &Value,
) -> (StatusCode, Value) {
    let head_tree = |st: &State, rev: &str| -> Option<BTreeMap<String, String>> {
        let sha = st
            .refs
            .get(rev)
            .cloned()
            .or_else(|| st.commits.contains_key(rev).then(|| rev.to_owned()))?;
        let c = st.commits.get(&sha)?;
        st.trees.get(&c.tree).cloned()
    };
    match id {
        "repos/get" => {
            let mut r = example(op);
            // GitHub's example predates the required `language` field.
            for key in ["", "source", "parent"] {
                let o = if key.is_empty() {
                    Some(&mut r)
                } else {
                    r.get_mut(key)
                };
                if let Some(o) = o.and_then(Value::as_object_mut) {
                    o.entry("language").or_insert(json!("Go"));
                }
            }
            r["default_branch"] = json!("main");
            r["name"] = json!(st.name);
            r["full_name"] = json!(format!("{}/{}", st.owner, st.name));
            (StatusCode::OK, r)
        }
        "repos/get-content" => {
            let rev = q.get("ref").map(String::as_str).unwrap_or("main");
            let path = &params["path"];
            let Some(text) = head_tree(st, rev).and_then(|t| t.get(path).cloned()) else {
                return not_found();
            };
            let mut r = example(op);
            r["type"] = json!("file");
            r["encoding"] = json!("base64");
            r["content"] = json!(b64(text.as_bytes()));
            r["size"] = json!(text.len());
            r["path"] = json!(path);
            r["name"] = json!(path.rsplit('/').next().unwrap());
            (StatusCode::OK, r)
        }
        "search/code" => {
            let query = q.get("q").cloned().unwrap_or_default();
            let repo_q = format!("repo:{}/{}", st.owner, st.name);
            if !query.contains(&repo_q) {
                st.violations
                    .push(format!("search/code without {repo_q}: {query}"));
            }
            let words: Vec<String> = query
                .split_whitespace()
                .filter(|w| !w.contains(':'))
                .map(str::to_lowercase)
                .collect();
            let tree = head_tree(st, "main").unwrap_or_default();
            let mut r = example(op);
            let tpl = r["items"][0].clone();
            let items: Vec<Value> = tree
                .iter()
                .filter(|(_, t)| words.iter().all(|w| t.to_lowercase().contains(w)))
                .map(|(p, _)| {
                    let mut i = tpl.clone();
                    i["path"] = json!(p);
                    i["name"] = json!(p.rsplit('/').next().unwrap());
                    i
                })
                .collect();
            r["total_count"] = json!(items.len());
            r["items"] = json!(items);
            (StatusCode::OK, r)
        }
        "repos/list-commits" => {
            let mut r = example(op);
            let tpl = r[0].clone();
            let mut out = Vec::new();
            let mut cur = st
                .refs
                .get(q.get("sha").map(String::as_str).unwrap_or("main"))
                .cloned();
            while let Some(sha) = cur {
                let c = st.commits[&sha].clone();
                let mut item = tpl.clone();
                item["sha"] = json!(sha);
                item["commit"]["message"] = json!(c.message);
                out.push(item);
                cur = c.parents.first().cloned();
            }
            r = json!(out);
            (StatusCode::OK, r)
        }
        "git/get-ref" => {
            let Some(branch) = params["ref"].strip_prefix("heads/") else {
                return not_found();
            };
            let Some(sha) = st.refs.get(branch).cloned() else {
                return not_found();
            };
            let mut r = example(op);
            r["ref"] = json!(format!("refs/heads/{branch}"));
            r["object"]["sha"] = json!(sha);
            (StatusCode::OK, r)
        }
        "git/create-ref" => {
            let name = body["ref"].as_str().unwrap_or("");
            let sha = body["sha"].as_str().unwrap_or("").to_owned();
            let Some(branch) = name.strip_prefix("refs/heads/") else {
                return unprocessable("Reference name must start with refs/");
            };
            if st.refs.contains_key(branch) {
                return unprocessable("Reference already exists");
            }
            if !st.commits.contains_key(&sha) {
                return unprocessable("Object does not exist");
            }
            st.refs.insert(branch.to_owned(), sha.clone());
            let mut r = example(op);
            r["ref"] = json!(name);
            r["object"]["sha"] = json!(sha);
            (StatusCode::CREATED, r)
        }
        "git/get-commit" => {
            let sha = &params["commit_sha"];
            let Some(c) = st.commits.get(sha).cloned() else {
                return not_found();
            };
            let mut r = example(op);
            r["sha"] = json!(sha);
            r["tree"]["sha"] = json!(c.tree);
            r["message"] = json!(c.message);
            (StatusCode::OK, r)
        }
        "git/create-tree" => {
            let base = body["base_tree"].as_str().unwrap_or("");
            let Some(mut files) = st.trees.get(base).cloned() else {
                return unprocessable("base_tree is not a tree");
            };
            for e in body["tree"].as_array().cloned().unwrap_or_default() {
                files.insert(
                    e["path"].as_str().unwrap_or("").to_owned(),
                    e["content"].as_str().unwrap_or("").to_owned(),
                );
            }
            let sha = st.new_sha();
            st.trees.insert(sha.clone(), files);
            let mut r = example(op);
            r["sha"] = json!(sha);
            (StatusCode::CREATED, r)
        }
        "git/create-commit" => {
            let tree = body["tree"].as_str().unwrap_or("").to_owned();
            if !st.trees.contains_key(&tree) {
                return unprocessable("tree does not exist");
            }
            let parents: Vec<String> = body["parents"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect();
            let message = body["message"].as_str().unwrap_or("").to_owned();
            let sha = st.new_sha();
            st.commits.insert(
                sha.clone(),
                Commit {
                    tree: tree.clone(),
                    parents,
                    message: message.clone(),
                },
            );
            let mut r = example(op);
            r["sha"] = json!(sha);
            r["tree"]["sha"] = json!(tree);
            r["message"] = json!(message);
            (StatusCode::CREATED, r)
        }
        "git/update-ref" => {
            let Some(branch) = params["ref"].strip_prefix("heads/").map(str::to_owned) else {
                return not_found();
            };
            let Some(old) = st.refs.get(&branch).cloned() else {
                return unprocessable("Reference does not exist");
            };
            let sha = body["sha"].as_str().unwrap_or("").to_owned();
            let Some(c) = st.commits.get(&sha) else {
                return unprocessable("Object does not exist");
            };
            if body["force"] != json!(true) && !c.parents.contains(&old) {
                return unprocessable("Update is not a fast forward");
            }
            st.refs.insert(branch.clone(), sha.clone());
            let mut r = example(op);
            r["ref"] = json!(format!("refs/heads/{branch}"));
            r["object"]["sha"] = json!(sha);
            (StatusCode::OK, r)
        }
        "pulls/list" => {
            let head = q.get("head").cloned().unwrap_or_default();
            let ex = example(op);
            let out: Vec<Value> = st
                .prs
                .iter()
                .filter(|p| head.is_empty() || format!("{}:{}", st.owner, p.head) == head)
                .map(|p| pr_json(&ex, st, p))
                .collect();
            (StatusCode::OK, json!(out))
        }
        "pulls/create" => {
            let head = body["head"].as_str().unwrap_or("").to_owned();
            if !st.refs.contains_key(&head) {
                return unprocessable("head branch does not exist");
            }
            if st.prs.iter().any(|p| p.head == head) {
                return unprocessable("A pull request already exists for this head");
            }
            let pr = Pr {
                number: 41 + st.prs.len() as u64,
                head,
                base: body["base"].as_str().unwrap_or("").to_owned(),
                title: body["title"].as_str().unwrap_or("").to_owned(),
                body: body["body"].as_str().unwrap_or("").to_owned(),
                draft: body["draft"] == json!(true),
                labels: vec![],
            };
            st.prs.push(pr.clone());
            let r = pr_json(&example(op), st, &pr);
            (StatusCode::CREATED, r)
        }
        "pulls/update" => {
            let n: u64 = params["pull_number"].parse().unwrap_or(0);
            let Some(i) = st.prs.iter().position(|p| p.number == n) else {
                return not_found();
            };
            if let Some(t) = body["title"].as_str() {
                st.prs[i].title = t.to_owned();
            }
            if let Some(b) = body["body"].as_str() {
                st.prs[i].body = b.to_owned();
            }
            let pr = st.prs[i].clone();
            let r = pr_json(&example(op), st, &pr);
            (StatusCode::OK, r)
        }
        "issues/add-labels" => {
            let n: u64 = params["issue_number"].parse().unwrap_or(0);
            let Some(i) = st.prs.iter().position(|p| p.number == n) else {
                return not_found();
            };
            let names: Vec<String> = body["labels"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect();
            for l in &names {
                if !st.prs[i].labels.contains(l) {
                    st.prs[i].labels.push(l.clone());
                }
            }
            let tpl = example(op)[0].clone();
            let out: Vec<Value> = st.prs[i]
                .labels
                .iter()
                .map(|l| {
                    let mut x = tpl.clone();
                    x["name"] = json!(l);
                    x
                })
                .collect();
            (StatusCode::OK, json!(out))
        }
        other => {
            st.violations
                .push(format!("{other}: not implemented by the fake"));
            not_found()
        }
    }
}
