//! Sets `WS_INSPECTOR_GIT_REVISION` (the short commit, `-dirty` with uncommitted changes)
//! when built from a git checkout, for `ws-inspector --version` (as `crates/wsi/build.rs`
//! does for wsi). Built from a package there is none, and the version is the package's alone.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(revision) = git(&["rev-parse", "--short=10", "HEAD"]) else {
        return;
    };
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo:rustc-env=WS_INSPECTOR_GIT_REVISION={revision}{suffix}");
    if let Some(head) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={head}/HEAD");
        println!("cargo:rerun-if-changed={head}/index");
    }
}
