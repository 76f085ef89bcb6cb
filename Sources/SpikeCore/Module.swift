/// The `SpikeCore` module.
public enum SpikeCoreModule {}
