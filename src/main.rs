fn main() -> std::process::ExitCode {
    candela::cli::main()
}
