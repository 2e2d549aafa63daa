fn main() {
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    std::process::exit(acr_preflight::run::main_with(
        std::env::args_os().collect(),
        &env,
    ));
}
