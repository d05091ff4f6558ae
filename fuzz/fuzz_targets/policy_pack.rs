//! `PolicyPack::parse` on arbitrary text: never a panic, and a pack that loads combines with the
//! built-in packs into the same effective policy whichever order the packs are given in.
#![no_main]

use std::sync::LazyLock;

use fairmark::checks::Registry;
use fairmark::policy::{EffectivePolicy, PolicyPack};
use libfuzzer_sys::fuzz_target;

static BUILT_IN: LazyLock<Vec<PolicyPack>> = LazyLock::new(|| PolicyPack::built_in(&Registry));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pack = match PolicyPack::parse(text, "fuzz.toml", "fuzz.toml", &Registry) {
        Ok(pack) => pack,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let pack_first: Vec<PolicyPack> = std::iter::once(pack.clone())
        .chain(BUILT_IN.iter().cloned())
        .collect();
    let pack_last: Vec<PolicyPack> = BUILT_IN
        .iter()
        .rev()
        .cloned()
        .chain(std::iter::once(pack))
        .collect();
    let forward = format!("{:?}", EffectivePolicy::combine(pack_first));
    let backward = format!("{:?}", EffectivePolicy::combine(pack_last));
    assert_eq!(forward, backward, "combining packs depends on their order");
});
