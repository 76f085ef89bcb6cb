/// The `Checkpoint` module.
public enum CheckpointModule {}
