import Checkpoint
import Foundation
import Pipeline

enum StateDictSHA {
    static func of(_ path: String) throws -> String { try StateDict.sha256(of: URL(fileURLWithPath: path)) }
}

/// The stage kinds of spkdeblur.
public enum StandardStages {
    /// Every built-in kind.
    public static func registry() -> StageRegistry {
        var r = StageRegistry()
        for kind in [
            SpikeFileSource.kind, RGBFolderSource.kind, ExposureWindowStage.kind, RGBSyncStage.kind,
            DeblurStage.kind, DeblurStage.passthroughKind, HDF5SinkStage.kind,
            ZMQSpikeSource.kind, ZMQRGBSource.kind, ZMQPublishSink.kind, RemoteDeblurStage.kind,
            WebViewStage.kind,
        ] {
            r.register(kind)
        }
        return r
    }
}
