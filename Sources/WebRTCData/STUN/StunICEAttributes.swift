/// The STUN attributes ICE adds to Binding requests (RFC 8445 §7.1.1, §16.1):
/// PRIORITY (u32, the priority a peer-reflexive candidate would get), USE-CANDIDATE (empty,
/// the controlling agent nominates the pair), ICE-CONTROLLING / ICE-CONTROLLED (u64 tie-breaker,
/// the sender's role for conflict resolution, §7.3.1.1).
extension StunMessage {
    func priority() throws(WebRTCDataError) -> UInt32? {
        guard let attribute = attribute(.priority) else { return nil }
        guard attribute.value.count == 4 else {
            throw WebRTCDataError(.stun, .badAttribute, at: "PRIORITY", "must be 4 bytes, is \(attribute.value.count)")
        }
        return read32(attribute.value, 0)
    }

    mutating func setPriority(_ priority: UInt32) {
        var value: [UInt8] = []
        append32(&value, priority)
        attributes.append(StunAttribute(type: .priority, value: value))
    }

    var useCandidate: Bool { attribute(.useCandidate) != nil }

    mutating func setUseCandidate() {
        attributes.append(StunAttribute(type: .useCandidate, value: []))
    }

    /// The sender's claimed role and tie-breaker, if it sent one.
    func iceRole() throws(WebRTCDataError) -> (role: ICERole, tieBreaker: UInt64)? {
        for (type, role) in [(StunAttributeType.iceControlling, ICERole.controlling), (.iceControlled, .controlled)] {
            guard let attribute = attribute(type) else { continue }
            guard attribute.value.count == 8 else {
                throw WebRTCDataError(.stun, .badAttribute, at: role == .controlling ? "ICE-CONTROLLING" : "ICE-CONTROLLED",
                                      "must be 8 bytes, is \(attribute.value.count)")
            }
            let tieBreaker = attribute.value.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return (role, tieBreaker)
        }
        return nil
    }

    mutating func setICERole(_ role: ICERole, tieBreaker: UInt64) {
        let value = (0..<8).map { UInt8(truncatingIfNeeded: tieBreaker >> (56 - 8 * $0)) }
        attributes.append(StunAttribute(type: role == .controlling ? .iceControlling : .iceControlled, value: value))
    }
}

/// RFC 8445 §2.2: the controlling agent nominates; the controlled one follows.
public enum ICERole: String, Hashable, Sendable {
    case controlling, controlled

    var opposite: ICERole { self == .controlling ? .controlled : .controlling }
}
