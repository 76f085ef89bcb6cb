/// The `Tensor` module.
public enum TensorModule {}
