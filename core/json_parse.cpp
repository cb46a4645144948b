// Bounded, strict JSON parsing (core/json_parse.h).
#include "core/json_parse.h"

#include <algorithm>
#include <set>
#include <vector>

#include "core/error.h"

namespace segcore {

namespace {

constexpr size_t kNone = std::string_view::npos;
// However long the offending token, an error quotes at most this much of the parser's message.
constexpr size_t kMaxReasonChars = 200;

// The offset of the first '{' or '[' that nests deeper than max_depth, or kNone. Brackets inside
// strings (and comments, when allowed) do not count. Run before parsing so that no deep value is
// ever built; for invalid text it may miscount, but then the parser stops at the first error.
size_t too_deep_at(std::string_view s, int max_depth, bool comments) {
    int depth = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '"') {
            for (++i; i < s.size() && s[i] != '"'; ++i)
                if (s[i] == '\\') ++i;
        } else if (comments && c == '/' && i + 1 < s.size() && s[i + 1] == '/') {
            while (i < s.size() && s[i] != '\n') ++i;
        } else if (comments && c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
            const size_t end = s.find("*/", i + 2);
            if (end == kNone) return kNone;  // the parser reports the open comment
            i = end + 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth) return i;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return kNone;
}

// "line L, column C" of byte offset `at` (0-based), both counted from 1.
std::string line_col(std::string_view s, size_t at) {
    at = std::min(at, s.size());
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; ++i) {
        if (s[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

std::string cut(std::string s, size_t max_chars) {
    if (s.size() > max_chars) {
        s.resize(max_chars);
        s += "...";
    }
    return s;
}

// Tracks where the parser is ("model.blocks[2].name") to name the first duplicate key.
class DuplicateKeyFinder {
public:
    std::string duplicate;  // path of the first repeated key, "" if none

    template <class J>
    bool on_event(nlohmann::json::parse_event_t ev, const J& parsed) {
        using E = nlohmann::json::parse_event_t;
        switch (ev) {
            case E::object_start: frames_.push_back({true}); break;
            case E::array_start: frames_.push_back({false}); break;
            case E::key:
                if (!frames_.empty()) {
                    Frame& f = frames_.back();
                    f.key = parsed.is_string() ? parsed.template get<std::string>() : std::string();
                    if (!f.keys.insert(f.key).second && duplicate.empty()) duplicate = path();
                }
                break;
            case E::object_end:
            case E::array_end:
                if (!frames_.empty()) frames_.pop_back();
                element_done();
                break;
            case E::value: element_done(); break;
        }
        return true;  // keep everything: this only watches
    }

private:
    struct Frame {
        bool object;
        std::set<std::string> keys;
        std::string key;   // objects: the key being read
        size_t index = 0;  // arrays: the element being read
    };
    std::vector<Frame> frames_;

    void element_done() {
        if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
    }
    std::string path() const {
        std::string p;
        for (const Frame& f : frames_) {
            if (f.object) p += (p.empty() ? "" : ".") + f.key;
            else p += "[" + std::to_string(f.index) + "]";
        }
        return p;
    }
};

template <class J>
J parse_impl(std::string_view text, const std::string& what, const JsonParseOptions& opt) {
    if (const size_t at = too_deep_at(text, opt.max_depth, opt.allow_comments); at != kNone)
        SEGCORE_THROW(what, ": JSON nested deeper than ", opt.max_depth, " levels at ", line_col(text, at));
    // nlohmann stops at a NUL byte as if the text ended there, so "{}\0garbage" would parse. Valid
    // JSON never holds a raw NUL (in strings it must be escaped as \u0000).
    if (const size_t nul = text.find('\0'); nul != kNone)
        SEGCORE_THROW(what, ": not valid JSON at ", line_col(text, nul), ": a NUL byte");
    DuplicateKeyFinder dup;
    const typename J::parser_callback_t callback = [&](int, nlohmann::json::parse_event_t ev, J& parsed) {
        return dup.on_event(ev, parsed);
    };
    J out;
    try {
        out = J::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true, opt.allow_comments);
    } catch (const nlohmann::json::parse_error& e) {
        // e.what(): "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
        const std::string msg = e.what();
        const size_t colon = msg.find(": ");
        const std::string reason = colon == std::string::npos ? msg : msg.substr(colon + 2);
        SEGCORE_THROW(what, ": not valid JSON at ", line_col(text, e.byte == 0 ? 0 : e.byte - 1), ": ",
                      cut(reason, kMaxReasonChars));
    } catch (const nlohmann::json::exception& e) {
        SEGCORE_THROW(what, ": not valid JSON: ", cut(e.what(), kMaxReasonChars));
    }
    SEGCORE_CHECK(dup.duplicate.empty(), what, ": duplicate key '", cut(dup.duplicate, kMaxReasonChars),
                  "' (a JSON object must not repeat a key)");
    return out;
}

template <class J>
void excerpt_into(const J& v, std::string& out, size_t budget) {
    // Invalid UTF-8 (a string cut mid-character) is replaced, never an exception.
    const auto dump = [](const J& x) { return x.dump(-1, ' ', false, J::error_handler_t::replace); };
    if (v.is_object() || v.is_array()) {
        out += v.is_object() ? '{' : '[';
        bool first = true;
        for (auto it = v.begin(); it != v.end() && out.size() <= budget; ++it) {
            if (!first) out += ',';
            first = false;
            if (v.is_object()) out += dump(J(cut(it.key(), budget))) + ':';
            excerpt_into(it.value(), out, budget);  // each level adds a character: depth <= budget
        }
        out += v.is_object() ? '}' : ']';
    } else if (v.is_string() && v.template get_ref<const std::string&>().size() > budget) {
        out += dump(J(v.template get_ref<const std::string&>().substr(0, budget)));
    } else {
        out += dump(v);
    }
}

template <class J>
std::string excerpt_impl(const J& v, size_t max_chars) {
    std::string s;
    excerpt_into(v, s, max_chars);
    return cut(std::move(s), max_chars);
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& what, const JsonParseOptions& opt) {
    return parse_impl<nlohmann::json>(text, what, opt);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& what, const JsonParseOptions& opt) {
    return parse_impl<nlohmann::ordered_json>(text, what, opt);
}

std::string json_excerpt(const nlohmann::json& v, size_t max_chars) { return excerpt_impl(v, max_chars); }
std::string json_excerpt(const nlohmann::ordered_json& v, size_t max_chars) { return excerpt_impl(v, max_chars); }

}  // namespace segcore
