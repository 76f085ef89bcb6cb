/// The `Datasets` module.
public enum DatasetsModule {}
