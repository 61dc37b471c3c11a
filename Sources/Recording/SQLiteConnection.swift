import CSQLite

/// A thin owner of one sqlite3 connection: prepare, step, bind, with every failure turned into
/// a `RecordingError` naming the file. Internal: the format, not SQLite, is the public surface.
final class SQLiteConnection {
    let path: String
    private(set) var handle: OpaquePointer?

    init(path: String, readOnly: Bool, create: Bool = false) throws {
        self.path = path
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create { flags |= SQLITE_OPEN_CREATE }
        flags |= SQLITE_OPEN_NOMUTEX
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        if rc != SQLITE_OK {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(db)
            throw RecordingError(.io, "cannot open: \(message)", file: path)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Finalizes every statement still prepared and closes: only a fully closed last
    /// connection checkpoints and removes the WAL, leaving one self-contained file.
    func close() {
        guard let h = handle else { return }
        while let s = sqlite3_next_stmt(h, nil) { sqlite3_finalize(s) }
        sqlite3_close_v2(h)
        handle = nil
    }

    func error(_ rc: Int32, _ doing: String) -> RecordingError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        let kind: RecordingError.Kind
        switch rc & 0xff {
        case SQLITE_NOTADB: kind = .notSQLite
        case SQLITE_CORRUPT: kind = .corrupt
        case SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM: kind = .io
        default: kind = .sqlite
        }
        return RecordingError(kind, "\(doing): \(message) (SQLite code \(rc))", file: path)
    }

    func execute(_ sql: String) throws {
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errmsg)
        if let errmsg { sqlite3_free(errmsg) }
        if rc != SQLITE_OK { throw error(rc, "executing \(sql.prefix(60))") }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, "preparing \(sql.prefix(60))") }
        return SQLiteStatement(stmt, connection: self)
    }

    /// Runs a query expected to return one integer (PRAGMA user_version, COUNT(*)…).
    func scalarInt(_ sql: String) throws -> Int64? {
        let s = try prepare(sql)
        guard try s.step() else { return nil }
        return s.isNull(0) ? nil : s.int64(0)
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}

/// A prepared statement. Columns and parameters are 0- and 1-based as in SQLite.
final class SQLiteStatement {
    let stmt: OpaquePointer
    /// Kept alive by its statements; `close()` finalizes them all, after which deinit must not.
    let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { if connection.handle != nil { sqlite3_finalize(stmt) } }

    /// Steps once; true when a row is available, false when done.
    @inline(__always)
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let sql = sqlite3_sql(stmt).map { String(cString: $0) } ?? "statement"
        throw connection.error(rc, "running \(sql.prefix(60))")
    }

    /// Runs a statement that returns no rows, then resets it for reuse.
    func run() throws {
        defer { reset() }
        _ = try step()
    }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    func bind(_ i: Int32, _ v: Int64) { sqlite3_bind_int64(stmt, i, v) }
    func bind(_ i: Int32, _ v: Int64?) {
        if let v { sqlite3_bind_int64(stmt, i, v) } else { sqlite3_bind_null(stmt, i) }
    }
    func bind(_ i: Int32, _ v: String?) {
        if let v { sqlite3_bind_text(stmt, i, v, -1, sqliteTransient) } else { sqlite3_bind_null(stmt, i) }
    }
    /// Binds without copying: the bytes must stay valid until the statement is stepped and reset.
    func bindStatic(_ i: Int32, _ bytes: UnsafeRawBufferPointer) {
        sqlite3_bind_blob(stmt, i, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), nil)
    }
    func bindCopy(_ i: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { b in
            _ = sqlite3_bind_blob(stmt, i, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(b.count), sqliteTransient)
        }
    }

    func isNull(_ c: Int32) -> Bool { sqlite3_column_type(stmt, c) == SQLITE_NULL }
    func int64(_ c: Int32) -> Int64 { sqlite3_column_int64(stmt, c) }
    func optionalInt64(_ c: Int32) -> Int64? { isNull(c) ? nil : int64(c) }
    func double(_ c: Int32) -> Double { sqlite3_column_double(stmt, c) }
    func string(_ c: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, c) else { return nil }
        return String(cString: p)
    }
    /// The blob in column `c`, valid until the next step or reset.
    func blob(_ c: Int32) -> UnsafeRawBufferPointer {
        let p = sqlite3_column_blob(stmt, c)
        let n = Int(sqlite3_column_bytes(stmt, c))
        guard let p, n > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: n)
    }
    func bytes(_ c: Int32) -> [UInt8] { [UInt8](blob(c)) }
}

/// SQLITE_TRANSIENT: tell SQLite to copy the bound value (C macro Swift cannot import).
let sqliteTransient = unsafeBitCast(Int(-1), to: sqlite3_destructor_type.self)
