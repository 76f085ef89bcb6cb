/// The `WireProtocol` module.
public enum WireProtocolModule {}
