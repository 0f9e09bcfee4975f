//! How the `hark` binary is linked (issue 12): it must build without ALSA's
//! headers and start on a machine without ALSA's library, so libasound may
//! be neither a library the loader maps at start nor the home of a symbol
//! the binary imports. Sound loads it at run time instead.

#![cfg(target_os = "linux")]

use std::process::Command;

/// `readelf ARGS hark`'s output.
fn readelf(args: &[&str]) -> String {
    let bin = env!("CARGO_BIN_EXE_hark");
    let out = Command::new("readelf")
        .args(args)
        .arg(bin)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `readelf` to read `{bin}` (it comes with binutils): {e}")
        });
    assert!(
        out.status.success(),
        "`readelf {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_binary_does_not_link_libasound() {
    let dynamic = readelf(&["--dynamic", "--wide"]);
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .collect();
    // A dynamic section always names libc: without it this is not readelf's answer.
    assert!(
        needed.iter().any(|line| line.contains("libc.so")),
        "no NEEDED libc in:\n{dynamic}"
    );
    assert!(
        !needed.iter().any(|line| line.contains("libasound")),
        "hark needs libasound to start:\n{}",
        needed.join("\n")
    );
}

#[test]
fn the_binary_imports_no_alsa_function() {
    let symbols = readelf(&["--dyn-syms", "--wide"]);
    let alsa: Vec<&str> = symbols
        .lines()
        .filter(|line| line.contains(" UND ") && line.contains("snd_"))
        .collect();
    assert!(
        alsa.is_empty(),
        "hark imports ALSA functions at load time:\n{}",
        alsa.join("\n")
    );
}
