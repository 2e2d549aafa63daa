#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    acr_preflight_fuzz::git_refs(data);
});
