use super::*;

#[test]
fn names_parse_and_cpu_is_always_there() {
    assert_eq!(DeviceChoice::parse("CUDA"), Some(DeviceChoice::Cuda));
    assert_eq!(DeviceChoice::parse(" auto "), Some(DeviceChoice::Auto));
    assert_eq!(DeviceChoice::parse("tpu"), None);
    assert!(select(DeviceChoice::Cpu).unwrap().is_cpu());
    // Auto never fails: without a GPU backend or device it is the CPU.
    let auto = select(DeviceChoice::Auto).unwrap();
    if backends() == ["cpu"] {
        assert!(auto.is_cpu());
    }
}

#[test]
fn a_gpu_this_build_lacks_is_refused_with_the_feature_to_build() {
    if cfg!(feature = "cuda") {
        return;
    }
    let err = select(DeviceChoice::Cuda).unwrap_err().to_string();
    assert!(err.contains("--features cuda"), "{err}");
}
