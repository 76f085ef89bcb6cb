/// The `Pipeline` module.
public enum PipelineModule {}
