import Foundation
internal import Yams

/// Reads the YAML trees of the configuration files into their models, refusing unknown keys.
package enum ConfigParser {
    // MARK: callbot.yaml

    static func serviceConfig(_ root: YAMLNode) throws(ConfigError) -> ServiceConfig {
        var top = try root.fields()
        let service = try serviceInfo(try top.required("service"))
        let opening = try openingCalendar(try top.required("opening_hours"))
        let agents = try agentSettings(try top.required("agents"))
        let appointments = try appointmentSettings(try top.required("appointments"), opening: opening)
        let callbacks = try callbackSettings(try top.required("callbacks"))
        let dialogue = try dialogueSettings(top.optional("dialogue"))
        let storage = try storageSettings(try top.required("storage"))
        let privacy = try privacySettings(try top.required("privacy"))
        let line = try lineSettings(try top.required("sip"))
        var config = ServiceConfig(
            service: service, opening: opening, agents: agents, appointments: appointments, callbacks: callbacks,
            dialogue: dialogue, storage: storage, privacy: privacy, line: line)
        if let kindNode = top.optional("line") {
            let kind = try kindNode.string()
            guard let lineKind = LineKind(rawValue: kind) else {
                throw kindNode.error("line must be \"sip\" or \"local\", not \"\(kind)\"")
            }
            config.lineKind = lineKind
        }
        if let node = top.optional("local_line") { config.localLine = try localLineSettings(node) }
        if let node = top.optional("speech") { config.speech = try speechSettings(node) }
        if let node = top.optional("admin") { config.admin = try adminSettings(node) }
        if let node = top.optional("assistant") { config.assistant = try assistantSettings(node) }
        if let node = top.optional("dialer") { config.dialer = try dialerSettings(node) }
        try top.finish()
        return config
    }

    static func dialerSettings(_ node: YAMLNode) throws(ConfigError) -> DialerSettings {
        var f = try node.fields()
        let trunkNode = try f.required("trunk")
        guard let (host, port) = hostPort(try trunkNode.string()), AddressBlock.parse(host) != nil else {
            throw trunkNode.error("trunk must be an IP address and a port, like \"192.0.2.10:5060\"")
        }
        let targetNode = try f.required("target")
        let target = try targetNode.string()
        guard target.hasPrefix("sip:"), target.contains("{number}") || target.contains("{national}") else {
            throw targetNode.error(
                "target must be a sip: URI with {number} or {national}, like \"sip:{number}@192.0.2.10\"")
        }
        let fromNode = try f.required("from")
        let from = try fromNode.string()
        guard from.hasPrefix("sip:"), from.count > 4 else { throw fromNode.error("from must be a sip: URI") }
        var settings = DialerSettings(trunkHost: host, trunkPort: port, target: target, from: from)
        settings.displayName = try f.optional("display_name")?.string()
        settings.username = try f.optional("username")?.string()
        settings.passwordEnv = try f.optional("password_env")?.string()
        settings.passwordFile = try f.optional("password_file")?.string()
        if let n = f.optional("ring_timeout_seconds") {
            settings.ringTimeoutSeconds = try integer(n, in: 5...120, "ring_timeout_seconds")
        }
        if let n = f.optional("retry_after_minutes") {
            settings.retryAfterMinutes = try integer(n, in: 1...240, "retry_after_minutes")
        }
        if let n = f.optional("check_interval_seconds") {
            settings.checkIntervalSeconds = try integer(n, in: 1...600, "check_interval_seconds")
        }
        if let n = f.optional("allowed_prefixes") {
            let prefixes = try n.strings()
            guard !prefixes.isEmpty,
                prefixes.allSatisfy({ $0.hasPrefix("+") && $0.count >= 3 && $0.dropFirst().allSatisfy(\.isNumber) })
            else { throw n.error("allowed_prefixes are E.164 beginnings of two digits or more, like \"+336\"") }
            settings.allowedPrefixes = prefixes
        }
        if settings.username != nil, settings.passwordEnv == nil, settings.passwordFile == nil {
            throw node.error("a username needs password_env or password_file")
        }
        try f.finish()
        return settings
    }

    static func assistantSettings(_ node: YAMLNode) throws(ConfigError) -> AssistantSettings {
        var f = try node.fields()
        var settings = AssistantSettings()
        if let n = f.optional("min_score") {
            settings.minScore = try n.double()
            guard settings.minScore > 0 else { throw n.error("min_score must be greater than 0") }
        }
        if let n = f.optional("min_margin") {
            settings.minMargin = try n.double()
            guard settings.minMargin >= 1 else { throw n.error("min_margin is a ratio of scores: 1 or more") }
        }
        settings.minScoreAgreed = settings.minScore
        if let n = f.optional("min_score_agreed") {
            settings.minScoreAgreed = try n.double()
            guard settings.minScoreAgreed > 0, settings.minScoreAgreed <= settings.minScore else {
                throw n.error("min_score_agreed must be greater than 0 and at most min_score")
            }
        }
        if let n = f.optional("holding_after_ms") {
            settings.holdingAfterMilliseconds = try integer(n, in: 200...10_000, "holding_after_ms")
        }
        if let n = f.optional("deadline_ms") {
            settings.deadlineMilliseconds = try integer(n, in: 1000...60_000, "deadline_ms")
        }
        if let n = f.optional("embeddings") { settings.embeddings = try embeddingSettings(n) }
        if let n = f.optional("generation") { settings.generation = try generationSettings(n) }
        try f.finish()
        if let generation = settings.generation, generation.timeoutMilliseconds >= settings.deadlineMilliseconds {
            throw node.error("generation.timeout_ms must be shorter than deadline_ms, or the caller waits in vain")
        }
        if settings.holdingAfterMilliseconds >= settings.deadlineMilliseconds {
            throw node.error("holding_after_ms must be shorter than deadline_ms, or the holding phrase is never heard")
        }
        return settings
    }

    static func embeddingSettings(_ node: YAMLNode) throws(ConfigError) -> EmbeddingSettings {
        var f = try node.fields()
        var settings = EmbeddingSettings()
        if let n = f.optional("engine") { settings.engine = try choice(n, "engine") }
        if let n = f.optional("port") { settings.port = try integer(n, in: 1024...65535, "port") }
        if let n = f.optional("threads") { settings.threads = try integer(n, in: 1...64, "threads") }
        if let n = f.optional("timeout_ms") {
            settings.timeoutMilliseconds = try integer(n, in: 100...10_000, "timeout_ms")
        }
        let endpoint = try modelEndpoint(&f, node, required: settings.engine == .openai, what: "engine openai")
        try f.finish()
        if endpoint != nil && settings.engine != .openai {
            throw node.error(
                "base_url and model are for engine openai; engine \(settings.engine.rawValue) ignores them")
        }
        settings.endpoint = endpoint
        return settings
    }

    static func generationSettings(_ node: YAMLNode) throws(ConfigError) -> GenerationSettings {
        var f = try node.fields()
        guard let endpoint = try modelEndpoint(&f, node, required: true, what: "generation") else {
            throw node.error("generation needs base_url and model")
        }
        var settings = GenerationSettings(endpoint: endpoint)
        if let n = f.optional("connect_timeout_ms") {
            settings.connectTimeoutMilliseconds = try integer(n, in: 100...10_000, "connect_timeout_ms")
        }
        if let n = f.optional("timeout_ms") {
            settings.timeoutMilliseconds = try integer(n, in: 500...60_000, "timeout_ms")
        }
        if let n = f.optional("max_tokens") {
            settings.maxTokens = try n.int()
            guard (16...1000).contains(settings.maxTokens) else { throw n.error("max_tokens must be 16…1000") }
        }
        try f.finish()
        return settings
    }

    /// `base_url`, `model`, `api_key_env`, `api_key_file` of an endpoint section.
    static func modelEndpoint(_ f: inout YAMLNode.Fields, _ node: YAMLNode, required: Bool, what: String)
        throws(ConfigError) -> ModelEndpoint?
    {
        let base = f.optional("base_url")
        let model = f.optional("model")
        let keyEnv = try f.optional("api_key_env")?.string()
        let keyFile = try f.optional("api_key_file")?.string()
        guard let base else {
            if required { throw node.error("\(what) needs base_url (an http(s) URL up to /v1)") }
            return nil
        }
        let url = try base.string()
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil,
            !url.contains("/chat/completions"), !url.contains("/embeddings")
        else {
            throw base.error("base_url must be an http(s) URL up to /v1, like \"https://albert.api.etalab.gouv.fr/v1\"")
        }
        guard let model else { throw node.error("\(what) needs model (the model's name at that endpoint)") }
        return ModelEndpoint(
            baseURL: url, model: try nonEmpty(try model.string(), model), apiKeyEnv: keyEnv, apiKeyFile: keyFile)
    }

    /// One of `Value`'s names, or an error that lists them.
    static func choice<Value: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ key: String) throws(ConfigError)
        -> Value where Value.RawValue == String
    {
        let name = try node.string()
        guard let value = Value(rawValue: name) else {
            let names = Value.allCases.map(\.rawValue).joined(separator: ", ")
            throw node.error("\(key) must be one of \(names), not \"\(name)\"")
        }
        return value
    }

    /// An integer in `range`, or an error that names the key and the range.
    static func integer(_ node: YAMLNode, in range: ClosedRange<Int>, _ name: String) throws(ConfigError) -> Int {
        let value = try node.int()
        guard range.contains(value) else { throw node.error("\(name) must be \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    static func adminSettings(_ node: YAMLNode) throws(ConfigError) -> AdminSettings {
        var f = try node.fields()
        var settings = AdminSettings()
        if let n = f.optional("listen") {
            guard let (host, port) = hostPort(try n.string()) else {
                throw n.error("listen must be HOST:PORT, like \"127.0.0.1:8088\"")
            }
            (settings.host, settings.port) = (host, port)
        }
        if let n = f.optional("token_file") { settings.tokenFile = try nonEmpty(try n.string(), n) }
        if let n = f.optional("agents_file") { settings.agentsFile = try nonEmpty(try n.string(), n) }
        try f.finish()
        return settings
    }

    static func localLineSettings(_ node: YAMLNode) throws(ConfigError) -> LocalLineSettings {
        var f = try node.fields()
        let settings = LocalLineSettings(
            inputDevice: try f.optional("input_device")?.string(),
            outputDevice: try f.optional("output_device")?.string())
        try f.finish()
        return settings
    }

    static func speechSettings(_ node: YAMLNode) throws(ConfigError) -> SpeechSettings {
        var f = try node.fields()
        var settings = SpeechSettings()
        if let n = f.optional("engine") { settings.engine = try choice(n, "engine") }
        if let n = f.optional("base_url") {
            let url = try n.string()
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
                throw n.error(
                    "base_url must be an http(s) URL up to /v1, like \"https://albert.api.etalab.gouv.fr/v1\"")
            }
            settings.baseURL = url
        }
        if let n = f.optional("model") { settings.model = try nonEmpty(try n.string(), n) }
        settings.apiKeyEnv = try f.optional("api_key_env")?.string()
        settings.apiKeyFile = try f.optional("api_key_file")?.string()
        if let n = f.optional("timeout_seconds") {
            settings.timeoutSeconds = try n.double()
            guard (0.5...60).contains(settings.timeoutSeconds) else { throw n.error("timeout_seconds must be 0.5…60") }
        }
        if let n = f.optional("model_dir") { settings.modelDirectory = try nonEmpty(try n.string(), n) }
        if let n = f.optional("port") { settings.port = try integer(n, in: 1024...65535, "port") }
        if let n = f.optional("threads") { settings.threads = try integer(n, in: 1...64, "threads") }
        if let n = f.optional("trailing_silence_ms") {
            settings.trailingSilenceMilliseconds = try n.int()
            guard (200...3000).contains(settings.trailingSilenceMilliseconds) else {
                throw n.error("trailing_silence_ms must be 200…3000")
            }
        }
        if let n = f.optional("max_utterance_seconds") {
            settings.maxUtteranceSeconds = try n.int()
            guard (2...60).contains(settings.maxUtteranceSeconds) else {
                throw n.error("max_utterance_seconds must be 2…60")
            }
        }
        if let n = f.optional("confirm_below") {
            settings.confirmBelow = try n.double()
            guard (0...1).contains(settings.confirmBelow) else { throw n.error("confirm_below must be in 0…1") }
        }
        try f.finish()
        if settings.engine == .openai && settings.baseURL == nil {
            throw node.error("engine openai needs base_url")
        }
        return settings
    }

    static func serviceInfo(_ node: YAMLNode) throws(ConfigError) -> ServiceInfo {
        var f = try node.fields()
        let zoneNode = f.optional("time_zone")
        let zone = try zoneNode?.string() ?? "Europe/Paris"
        guard TimeZone(identifier: zone) != nil else {
            throw (zoneNode ?? node).error("unknown time zone \"\(zone)\" (an IANA name like \"Europe/Paris\")")
        }
        let info = ServiceInfo(
            name: try nonEmpty(try f.required("name").string(), node),
            address: try f.required("address").string(),
            timeZone: zone,
            website: try f.optional("website")?.string())
        try f.finish()
        return info
    }

    static func nonEmpty(_ text: String, _ node: YAMLNode) throws(ConfigError) -> String {
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw node.error("must not be empty") }
        return text
    }

    static func openingCalendar(_ node: YAMLNode) throws(ConfigError) -> OpeningCalendar {
        var closedOnHolidays = true
        var closures: [Closure] = []
        var days: [Weekday: [TimeRange]] = [:]
        for (key, value, line) in try node.pairs() {
            switch key {
            case "public_holidays":
                let policy = try value.string()
                guard policy == "closed" || policy == "open" else {
                    throw value.error("public_holidays must be \"closed\" or \"open\", not \"\(policy)\"")
                }
                closedOnHolidays = policy == "closed"
            case "closures":
                for item in try value.sequence() { closures.append(try closure(item)) }
            default:
                guard let weekday = Weekday.allCases.first(where: { $0.key == key }) else {
                    throw ConfigError(
                        file: node.file, line: line,
                        reason: "unknown key \"\(key)\" (expected a day monday…sunday, public_holidays or closures)")
                }
                days[weekday] = try timeRanges(value)
            }
        }
        return OpeningCalendar(hours: WeeklyHours(days), closedOnPublicHolidays: closedOnHolidays, closures: closures)
    }

    static func weeklyHours(_ node: YAMLNode) throws(ConfigError) -> WeeklyHours {
        var days: [Weekday: [TimeRange]] = [:]
        for (key, value, line) in try node.pairs() {
            guard let weekday = Weekday.allCases.first(where: { $0.key == key }) else {
                throw ConfigError(
                    file: node.file, line: line, reason: "unknown day \"\(key)\" (expected monday…sunday)")
            }
            days[weekday] = try timeRanges(value)
        }
        return WeeklyHours(days)
    }

    /// `["08:30-12:00", "13:30-17:30"]`: each range valid, in order, not overlapping.
    static func timeRanges(_ node: YAMLNode) throws(ConfigError) -> [TimeRange] {
        var ranges: [TimeRange] = []
        for item in try node.sequence() {
            let range = try timeRange(item)
            if let last = ranges.last, range.start < last.end {
                throw item.error("\"\(range)\" overlaps or comes before \"\(last)\"; list ranges in order")
            }
            ranges.append(range)
        }
        return ranges
    }

    static func timeRange(_ node: YAMLNode) throws(ConfigError) -> TimeRange {
        let text = try node.string()
        let parts = text.split(separator: "-")
        guard parts.count == 2, let start = TimeOfDay(parsing: parts[0].trimmingCharacters(in: .whitespaces)),
            let end = TimeOfDay(parsing: parts[1].trimmingCharacters(in: .whitespaces))
        else { throw node.error("\"\(text)\" is not a range of hours like \"08:30-12:00\"") }
        guard start < end else { throw node.error("\"\(text)\": the range ends before it starts") }
        return TimeRange(start: start, end: end)
    }

    static func closure(_ node: YAMLNode) throws(ConfigError) -> Closure {
        var f = try node.fields()
        let from = try date(try f.required("from"))
        let to = try f.optional("to").map { (n) throws(ConfigError) in try date(n) } ?? from
        let reason = try f.optional("reason")?.string()
        try f.finish()
        guard from <= to else { throw node.error("closure ends (\(to)) before it starts (\(from))") }
        return Closure(from: from, to: to, reason: reason)
    }

    static func date(_ node: YAMLNode) throws(ConfigError) -> LocalDate {
        let text = try node.string()
        guard let date = LocalDate(iso: text) else { throw node.error("\"\(text)\" is not a date like 2026-12-24") }
        return date
    }

    static func agentSettings(_ node: YAMLNode) throws(ConfigError) -> AgentSettings {
        var f = try node.fields()
        let uriNode = try f.required("queue_uri")
        let uri = try uriNode.string()
        guard uri.hasPrefix("sip:") || uri.hasPrefix("sips:") || uri.hasPrefix("tel:") else {
            throw uriNode.error("queue_uri must be a SIP URI like \"sip:accueil@pbx.example\"")
        }
        let capacityNode = try f.required("capacity")
        let capacity = try capacityNode.int()
        guard capacity >= 0 else { throw capacityNode.error("capacity cannot be negative") }
        let hours = try weeklyHours(try f.required("hours"))
        var settings = AgentSettings(queueURI: uri, hours: hours, capacity: capacity)
        if let n = f.optional("handling_minutes") {
            settings.handlingMinutes = try integer(n, in: 1...120, "handling_minutes")
        }
        try f.finish()
        return settings
    }

    static func appointmentSettings(_ node: YAMLNode, opening: OpeningCalendar) throws(ConfigError)
        -> AppointmentSettings
    {
        var f = try node.fields()
        let digitsNode = f.optional("reference_digits")
        let digits = try digitsNode?.int() ?? 6
        guard (4...10).contains(digits) else {
            throw (digitsNode ?? node).error("reference_digits must be between 4 and 10")
        }
        let moveKeywords = try f.optional("move_keywords")?.strings() ?? []
        let cancelKeywords = try f.optional("cancel_keywords")?.strings()
        var motifs: [Motif] = []
        for item in try f.required("motifs").sequence() {
            let motif = try self.motif(item, opening: opening)
            if motifs.contains(where: { $0.id == motif.id }) {
                throw item.error("motif \"\(motif.id)\" is defined twice")
            }
            if motifs.contains(where: { $0.keypad == motif.keypad }) {
                throw item.error("keypad digit \"\(motif.keypad)\" is used by two motifs")
            }
            motifs.append(motif)
        }
        try f.finish()
        var settings = AppointmentSettings(motifs: motifs, moveKeywords: moveKeywords, referenceDigits: digits)
        if let cancelKeywords { settings.cancelKeywords = cancelKeywords }
        return settings
    }

    static func motif(_ node: YAMLNode, opening: OpeningCalendar) throws(ConfigError) -> Motif {
        var f = try node.fields()
        let id = try f.required("id").string()
        let label = try f.required("label").string()
        let keypadNode = try f.required("keypad")
        let keypad = try keypadNode.string()
        guard keypad.count == 1, keypad.first!.isNumber else { throw keypadNode.error("keypad must be one digit") }
        func positive(_ key: String, default value: Int? = nil) throws(ConfigError) -> Int {
            guard let n = f.optional(key) else {
                if let value { return value }
                throw node.error("missing key \"\(key)\"")
            }
            let number = try n.int()
            guard number > 0 else { throw n.error("\(key) must be greater than 0") }
            return number
        }
        let duration = try positive("duration_minutes")
        let capacity = try positive("capacity", default: 1)
        let notice = try f.optional("min_notice_hours")?.int() ?? 0
        let ahead = try positive("max_days_ahead", default: 60)
        let hoursNode = f.optional("hours")
        let hours = try hoursNode.map { (n) throws(ConfigError) in try weeklyHours(n) }
        // A motif receives only when the service is open: callers would be booked at a closed door.
        if let hours, let hoursNode {
            let lines = Dictionary((try hoursNode.pairs()).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            for day in Weekday.allCases {
                let open = opening.hours.ranges(on: day)
                for range in hours.ranges(on: day)
                where !open.contains(where: { $0.start <= range.start && range.end <= $0.end }) {
                    let at = lines[day.key] ?? hoursNode
                    throw at.error(
                        open.isEmpty
                            ? "motif \"\(id)\": hours on \(day.key) (\(range)) but the service is closed on \(day.key) (opening_hours)"
                            : "motif \"\(id)\": hours on \(day.key) (\(range)) are outside the opening hours (\(open.map(\.description).joined(separator: ", ")))"
                    )
                }
            }
        }
        let intents = try f.optional("intents")?.strings() ?? []
        let keywords = try f.optional("keywords")?.strings() ?? []
        try f.finish()
        return Motif(
            id: id, label: label, durationMinutes: duration, capacity: capacity, minNoticeHours: notice,
            maxDaysAhead: ahead, hours: hours, intents: intents, keywords: keywords, keypad: keypad)
    }

    static func callbackSettings(_ node: YAMLNode) throws(ConfigError) -> CallbackSettings {
        var f = try node.fields()
        let windowsNode = try f.required("windows")
        let windows = try timeRanges(windowsNode)
        guard !windows.isEmpty else { throw windowsNode.error("at least one callback window is needed") }
        let capacityNode = try f.required("capacity_per_window")
        let capacity = try capacityNode.int()
        guard capacity > 0 else { throw capacityNode.error("capacity_per_window must be greater than 0") }
        let settings = CallbackSettings(
            windows: windows, capacityPerWindow: capacity,
            daysAhead: try f.optional("days_ahead")?.int() ?? 5,
            minNoticeMinutes: try f.optional("min_notice_minutes")?.int() ?? 30,
            maxAttempts: try f.optional("max_attempts")?.int() ?? 3)
        try f.finish()
        return settings
    }

    static func dialogueSettings(_ node: YAMLNode?) throws(ConfigError) -> DialogueSettings {
        var settings = DialogueSettings(maxReprompts: 2, noInputTimeoutSeconds: 6, surveyEnabled: true)
        guard let node else { return settings }
        var f = try node.fields()
        if let n = f.optional("max_reprompts") {
            settings.maxReprompts = try n.int()
            guard (0...5).contains(settings.maxReprompts) else { throw n.error("max_reprompts must be 0…5") }
        }
        if let n = f.optional("no_input_timeout_seconds") {
            settings.noInputTimeoutSeconds = try n.int()
            guard (1...60).contains(settings.noInputTimeoutSeconds) else {
                throw n.error("no_input_timeout_seconds must be 1…60")
            }
        }
        if let n = f.optional("survey") { settings.surveyEnabled = try n.bool() }
        if let n = f.optional("uninterruptible") { settings.uninterruptible = Set(try n.strings()) }
        try f.finish()
        return settings
    }

    static func storageSettings(_ node: YAMLNode) throws(ConfigError) -> StorageSettings {
        var f = try node.fields()
        let driverNode = try f.required("driver")
        let driver = try driverNode.string()
        let storage: StorageSettings
        switch driver {
        case "sqlite": storage = .sqlite(path: try f.required("path").string())
        case "postgres": storage = .postgres(url: try f.required("url").string())
        default: throw driverNode.error("driver must be \"sqlite\" or \"postgres\", not \"\(driver)\"")
        }
        try f.finish()
        return storage
    }

    static func privacySettings(_ node: YAMLNode) throws(ConfigError) -> PrivacySettings {
        var f = try node.fields()
        let settings = PrivacySettings(
            pseudonymKeyFile: try f.optional("pseudonym_key_file")?.string(),
            pseudonymKeyEnv: try f.optional("pseudonym_key_env")?.string(),
            transcriptRetentionDays: try f.optional("transcript_retention_days")?.int() ?? 30)
        try f.finish()
        guard settings.pseudonymKeyFile != nil || settings.pseudonymKeyEnv != nil else {
            throw node.error("set pseudonym_key_file or pseudonym_key_env: caller numbers are stored as keyed hashes")
        }
        return settings
    }

    static func lineSettings(_ node: YAMLNode) throws(ConfigError) -> LineSettings {
        var f = try node.fields()
        let listenNode = try f.required("listen")
        guard let (host, port) = hostPort(try listenNode.string()) else {
            throw listenNode.error("listen must be HOST:PORT, like \"127.0.0.1:5070\"")
        }
        let portsNode = try f.required("rtp_ports")
        guard let ports = portRange(try portsNode.string()) else {
            throw portsNode.error("rtp_ports must be LOW-HIGH with LOW < HIGH within 1024-65535, like \"20000-20999\"")
        }
        let peersNode = try f.required("trusted_peers")
        var peers: [AddressBlock] = []
        for item in try peersNode.sequence() {
            let text = try item.string()
            guard let block = AddressBlock(text) else {
                throw item.error(
                    "trusted peer \"\(text)\" must be an IP address or a CIDR block like \"192.0.2.0/24\" (host names are not resolved)"
                )
            }
            peers.append(block)
        }
        guard !peers.isEmpty else { throw peersNode.error("list at least one trusted peer (the PBX or trunk address)") }
        func positive(_ key: String, default value: Int, max: Int = 3600) throws(ConfigError) -> Int {
            guard let n = f.optional(key) else { return value }
            let number = try n.int()
            guard number >= 0 else { throw n.error("\(key) cannot be negative") }
            guard number <= max else { throw n.error("\(key) must be at most \(max)") }
            return number
        }
        let settings = LineSettings(
            listenHost: host, listenPort: port, publicAddress: try f.optional("public_address")?.string(),
            rtpPorts: ports,
            trustedPeers: peers, maxCalls: try positive("max_calls", default: 200, max: 60_000),
            answerDelayMilliseconds: try positive("answer_delay_ms", default: 300, max: 60_000),
            transferTimeoutSeconds: try positive("transfer_timeout_seconds", default: 30),
            drainGraceSeconds: try positive("drain_grace_seconds", default: 60),
            probeIntervalSeconds: try positive("probe_interval_seconds", default: 60),
            mediaTimeoutSeconds: try positive("media_timeout_seconds", default: 60),
            maxConnections: try positive("max_connections", default: 512, max: 60_000),
            maxConnectionsPerSource: try positive("max_connections_per_source", default: 64, max: 60_000),
            messageTimeoutSeconds: try positive("tcp_message_timeout_seconds", default: 10),
            tls: try f.optional("tls").map(tlsSettings))
        try f.finish()
        return settings
    }

    /// `sip.tls`: the port on the listen host, the certificate chain and key (PEM), the authorities
    /// trusted when the daemon opens a TLS connection itself.
    static func tlsSettings(_ node: YAMLNode) throws(ConfigError) -> TLSSettings {
        var f = try node.fields()
        let portNode = try f.required("port")
        let port = try portNode.int()
        guard (1...65535).contains(port) else { throw portNode.error("port must be within 1-65535") }
        let settings = TLSSettings(
            port: port, certificateFile: try f.required("certificate").string(),
            privateKeyFile: try f.required("private_key").string(), caFile: try f.optional("ca_file")?.string())
        try f.finish()
        return settings
    }

    /// `127.0.0.1:5070`, `[::1]:5070`.
    /// HOST:PORT or [IPv6]:PORT; port 0 (any free port) only with `anyPort`.
    package static func hostPort(_ text: String, anyPort: Bool = false) -> (String, Int)? {
        let ports = (anyPort ? 0 : 1)...65535
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), ports.contains(port) else { return nil }
            return (host, port)
        }
        let parts = text.split(separator: ":")
        guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), ports.contains(port) else {
            return nil
        }
        return (String(parts[0]), port)
    }

    /// `20000-20999`.
    package static func portRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let low = Int(parts[0].trimmingCharacters(in: .whitespaces)),
            let high = Int(parts[1].trimmingCharacters(in: .whitespaces)), 1024 <= low, low < high, high <= 65535
        else { return nil }
        return low...high
    }

    // MARK: intents.yaml

    static func intentCatalog(_ root: YAMLNode) throws(ConfigError) -> IntentCatalog {
        var top = try root.fields()
        let thresholdNode = try top.required("none_threshold")
        let threshold = try thresholdNode.double()
        guard (0..<1).contains(threshold) else { throw thresholdNode.error("none_threshold must be in 0…1") }
        var intents: [IntentDefinition] = []
        for (name, value, line) in try top.required("intents").pairs() {
            guard name != IntentClassifier.none else {
                throw ConfigError(
                    file: root.file, line: line, reason: "\"none\" is reserved for questions no intent fits")
            }
            intents.append(try intent(name, value))
        }
        var catalog = IntentCatalog(intents: intents, noneThreshold: threshold)
        if let topicsNode = top.optional("keypad_topics") {
            var t = try topicsNode.fields()
            let keypadNode = try t.required("keypad")
            let digit = try keypadNode.string()
            guard digit.count == 1, digit.first!.isNumber else { throw keypadNode.error("keypad must be one digit") }
            catalog.topicsKeypad = (digit, try t.required("label").string())
            try t.finish()
        }
        catalog.otherSubjects = try top.optional("other_subjects")?.strings() ?? []
        try top.finish()
        return catalog
    }

    static func intent(_ name: String, _ node: YAMLNode) throws(ConfigError) -> IntentDefinition {
        var f = try node.fields()
        let actionNode = try f.required("action")
        let actionName = try actionNode.string()
        guard let action = IntentAction(rawValue: actionName) else {
            throw actionNode.error(
                "unknown action \"\(actionName)\" (expected one of: \(IntentAction.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        let examplesNode = try f.required("examples")
        let examples = try examplesNode.strings()
        guard examples.count >= 3 else { throw examplesNode.error("intent \"\(name)\" needs at least 3 examples") }
        let keypadNode = f.optional("keypad")
        let keypad = try keypadNode?.string()
        if let keypad, keypad.count != 1 || !(keypad.first!.isNumber || keypad == "*" || keypad == "#") {
            throw keypadNode!.error("keypad must be one key: 0–9, * or #")
        }
        let definition = IntentDefinition(
            name: name, examples: examples, keywords: try f.optional("keywords")?.strings() ?? [], action: action,
            answer: try f.optional("answer")?.string(), offerMotif: try f.optional("offer")?.string(), keypad: keypad,
            label: try f.optional("label")?.string(), facility: try f.optional("facility")?.bool() ?? false)
        try f.finish()
        if action == .answer && definition.answer == nil {
            throw node.error("intent \"\(name)\" has action answer but no answer message key")
        }
        return definition
    }

    // MARK: messages

    /// Flattens nested mappings into dotted keys; returns each key's line.
    static func messages(_ root: YAMLNode) throws(ConfigError) -> (MessageCatalog, [String: Int]) {
        var messages: [String: String] = [:]
        var lines: [String: Int] = [:]
        func walk(_ node: YAMLNode, prefix: String) throws(ConfigError) {
            for (key, value, line) in try node.pairs() {
                let full = prefix.isEmpty ? key : prefix + "." + key
                if case .mapping = value.node {
                    try walk(value, prefix: full)
                } else {
                    let text = try value.string()
                    guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                        throw ConfigError(file: node.file, line: line, reason: "message \"\(full)\" is empty")
                    }
                    messages[full] = text
                    lines[full] = line
                }
            }
        }
        try walk(root, prefix: "")
        return (MessageCatalog(messages: messages), lines)
    }
}
