fn main() {
    std::process::exit(palisade::cli::main());
}
