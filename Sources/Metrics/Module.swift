/// The `Metrics` module.
public enum MetricsModule {}
