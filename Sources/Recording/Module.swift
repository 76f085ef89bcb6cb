/// The `Recording` module.
public enum RecordingModule {}
