//! Times `cart.price()` on the pricing workload's store file, the same loop the Python and
//! Node scripts run (`scripts/bench-bindings.sh`): `cart_price_loop PATH CART_ID N`.
//! Prints `rust <median µs> <p90 µs>` over N calls.

use aisle::{Currency, Edge, EdgeConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, id, n] = &args[..] else {
        eprintln!("usage: cart_price_loop PATH CART_ID N");
        std::process::exit(2);
    };
    let n: usize = n.parse().unwrap_or(200);
    let run = || -> Result<Vec<f64>, aisle::Error> {
        let edge = Edge::open(path, EdgeConfig::new("bench-store", "bench-till", Currency::EUR))?;
        let cart = edge.cart(id)?;
        cart.price()?; // warm caches (settings, compiled promotions, statements)
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = std::time::Instant::now();
            std::hint::black_box(cart.price()?);
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        Ok(times)
    };
    match run() {
        Ok(mut t) => {
            t.sort_by(f64::total_cmp);
            println!("rust {:.1} {:.1}", t[t.len() / 2], t[t.len() * 9 / 10]);
        }
        Err(e) => {
            eprintln!("cart_price_loop: {e}");
            std::process::exit(1);
        }
    }
}
