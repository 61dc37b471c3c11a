import Pipeline

extension Downsample {
    /// Options of a `downsample` transform; give exactly one of the two:
    ///
    /// ```yaml
    /// transforms:
    ///   slow:
    ///     type: downsample
    ///     inputs: [in]
    ///     max_rate_hz: 10     # at most 10 frames per second per track, by receive time
    ///   # or
    ///     every: 5            # every 5th frame of each track (the 1st, 6th, 11th…)
    /// ```
    public struct Config: Decodable, Sendable {
        public enum Rule: Sendable, Hashable {
            case maxRateHz(Double)
            case every(Int)
        }
        public var rule: Rule

        public init(rule: Rule) {
            self.rule = rule
        }

        enum CodingKeys: String, CodingKey {
            case maxRateHz = "max_rate_hz"
            case every
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let rate = try c.decodeIfPresent(Double.self, forKey: .maxRateHz)
            let every = try c.decodeIfPresent(Int.self, forKey: .every)
            switch (rate, every) {
            case (let rate?, nil):
                guard rate > 0, rate.isFinite else {
                    throw DecodingError.dataCorruptedError(forKey: .maxRateHz, in: c, debugDescription: "must be a positive number of Hz")
                }
                rule = .maxRateHz(rate)
            case (nil, let every?):
                guard every >= 1 else {
                    throw DecodingError.dataCorruptedError(forKey: .every, in: c, debugDescription: "must be at least 1")
                }
                rule = .every(every)
            case (.some, .some):
                throw DecodingError.dataCorruptedError(forKey: .every, in: c,
                                                       debugDescription: "give either max_rate_hz or every, not both")
            case (nil, nil):
                throw DecodingError.keyNotFound(CodingKeys.maxRateHz, .init(
                    codingPath: c.codingPath, debugDescription: "give max_rate_hz or every"))
            }
        }
    }

    public static let registration = StageRegistration(
        type: "downsample", kind: .transform,
        summary: "keeps at most max_rate_hz frames per second, or every Nth frame, per track"
    ) { options, _ in
        .transform(Downsample(config: try options.decode(Config.self)))
    }
}
