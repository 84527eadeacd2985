import Foundation

/// One fiche of `config/knowledge/`: what the generative fallback may quote.
package struct KnowledgeFiche: Sendable, Equatable {
    /// A paragraph of a fiche: said alone on the phone, so it must stand alone.
    package struct Passage: Sendable, Equatable {
        /// The section it belongs to ("" before the first `##`).
        package var section: String
        package var text: String
        /// Its first line in the file.
        package var line: Int
    }

    /// The file name (`carte-grise.md`).
    package var file: String
    package var title: String
    /// Where the rule comes from (service-public.fr…).
    package var source: String
    package var reviewed: LocalDate
    package var keywords: [String]
    /// Answered by quoting only, never by generation.
    package var extractiveOnly: Bool
    package var passages: [Passage]
}

/// Reads the fiches of a knowledge folder: a front matter (title, source, reviewed, optional
/// keywords and extractive_only) between `---` lines, then Markdown paragraphs under `##`
/// sections. Every error names the file and the line.
package enum KnowledgeParser {
    /// A passage longer than this cannot be said on the phone in one breath of the bot.
    static let maxPassageWords = 90

    /// The fiches of `folder`, by file name; none when the folder does not exist.
    package static func load(folder: String) throws(ConfigError) -> [KnowledgeFiche] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            return []
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
            $0.hasSuffix(".md")
        }
        var fiches: [KnowledgeFiche] = []
        for name in names.sorted() {
            let path = folder + "/" + name
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
            else {
                throw ConfigError(
                    file: path, line: 0, reason: "cannot read the fiche (missing, unreadable or not UTF-8)")
            }
            fiches.append(try parse(text, file: path, name: name))
        }
        return fiches
    }

    package static func parse(_ text: String, file: String, name: String) throws(ConfigError) -> KnowledgeFiche {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first?.trimmingCharacters(in: .whitespaces) == "---",
            let end = lines.dropFirst().firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "---" })
        else {
            throw ConfigError(
                file: file, line: 1, reason: "a fiche starts with a front matter between two \"---\" lines")
        }
        // A blank first line keeps the front matter's lines those of the file.
        let header = try YAMLNode.parse("\n" + lines[1..<end].joined(separator: "\n"), file: file)
        var fields = try header.fields()
        let titleNode = try fields.required("title")
        let title = try titleNode.string().trimmingCharacters(in: .whitespaces)
        guard !title.isEmpty else { throw titleNode.error("title must not be empty") }
        let sourceNode = try fields.required("source")
        let source = try sourceNode.string()
        guard source.hasPrefix("https://") || source.hasPrefix("http://") else {
            throw sourceNode.error("source must be the URL the rule comes from (https://…)")
        }
        let reviewedNode = try fields.required("reviewed")
        guard let reviewed = LocalDate(iso: try reviewedNode.string()) else {
            throw reviewedNode.error("reviewed must be a day like 2026-10-15")
        }
        let keywords = try fields.optional("keywords")?.strings() ?? []
        let extractiveOnly = try fields.optional("extractive_only")?.bool() ?? false
        try fields.finish()

        var passages: [KnowledgeFiche.Passage] = []
        var section = ""
        var paragraph: [String] = []
        var paragraphLine = 0
        func flush() throws(ConfigError) {
            defer { paragraph = [] }
            guard !paragraph.isEmpty else { return }
            let text = paragraph.joined(separator: " ")
            let words = text.split(separator: " ").count
            guard words <= maxPassageWords else {
                throw ConfigError(
                    file: file, line: paragraphLine,
                    reason:
                        "a paragraph of \(words) words is too long to be said on the phone (at most \(maxPassageWords)): split it"
                )
            }
            passages.append(.init(section: section, text: text, line: paragraphLine))
        }
        for (offset, raw) in lines[(end + 1)...].enumerated() {
            let number = end + 2 + offset
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                try flush()
            } else if line.hasPrefix("#") {
                try flush()
                section = String(line.drop { $0 == "#" }).trimmingCharacters(in: .whitespaces)
            } else if line.hasPrefix("- ") || line.hasPrefix("* ") || line.hasPrefix("|") {
                throw ConfigError(
                    file: file, line: number, reason: "no lists or tables in a fiche: write sentences a caller can hear"
                )
            } else {
                if paragraph.isEmpty { paragraphLine = number }
                paragraph.append(line)
            }
        }
        try flush()
        guard !passages.isEmpty else {
            throw ConfigError(file: file, line: end + 1, reason: "the fiche has no text after its front matter")
        }
        return KnowledgeFiche(
            file: name, title: title, source: source, reviewed: reviewed, keywords: keywords,
            extractiveOnly: extractiveOnly, passages: passages)
    }
}
