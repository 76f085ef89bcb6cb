import Imaging
import Tensor

// The one conversion between the image type of the codecs and the tensor engine's feature
// maps: both are channels-last (HWC) floats, so the pixels are shared as they are.

extension Image {
    /// The same pixels as a channels-last feature map.
    public var featureMap: FeatureMap { FeatureMap(height: height, width: width, channels: channels, data: pixels) }
}

extension FeatureMap {
    /// The same values as an image.
    public var image: Image { Image(width: width, height: height, channels: channels, pixels: data.array) }
}
