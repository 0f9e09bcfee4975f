//! `hark index` on a folder of the less common formats real libraries hold
//! (Wave64, AU, Opus, Ogg Vorbis and MP3 inside WAV): each is embedded, and
//! what hark does not decode (WavPack, GSM 6.10 in WAV) is recorded with a
//! cause that names the format.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use common::{empty_dir, fixture, hark, root, run};
use serde_json::Value;

/// (fixture in assets/test, sample rate, channels, codec)
const DECODED: &[(&str, u32, u32, &str)] = &[
    ("sine440_22k05_stereo.w64", 22_050, 2, "pcm_s16le"),
    ("sine440_16k_mono.au", 16_000, 1, "pcm_s16be"),
    ("sine440_8k_mono_ulaw.au", 8_000, 1, "pcm_mulaw"),
    ("sine440_48k_stereo.opus", 48_000, 2, "opus"),
    ("sine440_44k1_mono_vorbis.wav", 44_100, 1, "vorbis"),
    ("sine440_44k1_mono_mp3.wav", 44_100, 1, "mp3"),
];

/// (fixture, the phrase its cause must hold)
const REFUSED: &[(&str, &str)] = &[
    ("sine440_44k1_mono.wv", "WavPack is not supported"),
    (
        "sine440_8k_mono_gsm.wav",
        "GSM 6.10 in WAV is not supported",
    ),
];

#[test]
fn every_format_of_a_folder_is_embedded_or_refused_by_name() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    fs::create_dir_all(&lib).unwrap();
    let assets = root().join("assets/test");
    let names = DECODED
        .iter()
        .map(|d| d.0)
        .chain(REFUSED.iter().map(|r| r.0));
    for name in names {
        fs::copy(assets.join(name), lib.join(name)).unwrap();
    }

    let mut cmd = hark();
    cmd.arg("--index")
        .arg(&idx)
        .args(["--model", fixture(), "index", "--json"])
        .arg(&lib);
    let out = run(cmd);
    // The refusals are warned about on stderr.
    out.assert_code(0);
    let summary: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!(summary["added"], DECODED.len(), "{summary}");
    assert_eq!(summary["failed"], REFUSED.len(), "{summary}");

    let catalog = hark_store::Catalog::open_readonly(&idx).unwrap();
    let lib = fs::canonicalize(&lib).unwrap();
    for &(name, rate, channels, codec) in DECODED {
        let file = catalog
            .file_by_path(&lib.join(name))
            .unwrap()
            .unwrap_or_else(|| panic!("{name} not indexed"));
        let rec = &file.record;
        assert_eq!(rec.status, hark_store::FileStatus::Ok, "{name}: {rec:?}");
        assert_eq!(
            (rec.sample_rate, rec.channels, rec.codec.as_deref()),
            (Some(rate), Some(channels), Some(codec)),
            "{name}"
        );
        let duration = rec.duration_s.unwrap();
        assert!((duration - 0.5).abs() < 2e-3, "{name}: {duration} s");
        let vector = catalog.vector(file.id).unwrap().expect("a vector").data;
        assert!(vector.iter().all(|x| x.is_finite()), "{name}");
    }

    let mut cmd = hark();
    cmd.arg("--index")
        .arg(&idx)
        .args(["status", "--json", "--errors"]);
    let out = run(cmd);
    out.assert_success();
    let status: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!(status["embedded"], DECODED.len(), "{status}");
    let errors: BTreeMap<String, String> = status["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let path = PathBuf::from(e["path"].as_str().unwrap());
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, e["error"].as_str().unwrap().to_owned())
        })
        .collect();
    for &(name, phrase) in REFUSED {
        let cause = &errors[name];
        assert!(cause.contains(phrase), "{name}: {cause:?}");
    }
}
