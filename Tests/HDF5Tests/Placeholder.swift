import Testing

@Test func placeholderHDF5() { #expect(Bool(true)) }
