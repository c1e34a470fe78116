//! `operator`: the make targets' CLI. Everything is in the library (`operator::cli`).

fn main() {
    std::process::exit(operator::cli::main());
}
