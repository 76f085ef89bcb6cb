import Testing

@Test func placeholderRecording() { #expect(Bool(true)) }
