use super::*;

#[test]
fn smoke() {
    for n in generate(DemoConfig { notes: 5, seed: 1 }) {
        assert!(!n.text.is_empty());
    }
}
