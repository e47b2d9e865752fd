//! Writes the pricing workload's store file for the cross-language bench
//! (`scripts/bench-bindings.sh`): `bench_fixture PATH [PROMOTIONS]`, prints the cart id.

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: bench_fixture PATH [PROMOTIONS]");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    match aisle_benches::write_store(std::path::Path::new(&path), n) {
        Ok(id) => println!("{id}"),
        Err(e) => {
            eprintln!("bench_fixture: {e}");
            std::process::exit(1);
        }
    }
}
