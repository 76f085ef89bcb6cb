/// The `Stages` module.
public enum StagesModule {}
