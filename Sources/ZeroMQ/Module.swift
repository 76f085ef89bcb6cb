/// The `ZeroMQ` module.
public enum ZeroMQModule {}
