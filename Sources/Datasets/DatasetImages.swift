import Foundation

/// Image files for the dataset tools.
public enum DatasetImages {
    /// The PNG and JPEG files directly inside `directory`, sorted by name.
    /// - Throws: `DatasetError.missingDirectory`, or `.empty` when it holds no images.
    public static func imageFiles(in directory: URL) throws(DatasetError) -> [URL] {
        try Layout.requireDirectory(directory, role: "source image")
        let files = Layout.entries(directory).filter {
            Layout.imageExtensions.contains(($0 as NSString).pathExtension.lowercased())
        }
        guard !files.isEmpty else { throw .empty(path: directory.path, what: "PNG or JPEG images") }
        return files.map { directory.appendingPathComponent($0) }
    }
}
