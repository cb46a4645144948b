// Bounded JSON parsing (core/json_parse.h): depth limit, duplicate keys, errors that name the
// input and the line and column and stay short, and bounded excerpts of values in messages.
#include <catch2/catch.hpp>

#include <functional>

#include "core/error.h"
#include "core/json_parse.h"
#include "core/json_reader.h"

using namespace segcore;
using Catch::Contains;
using json = nlohmann::json;

namespace {

std::string error_of(const std::string& text, const JsonParseOptions& opt = {}) {
    try {
        (void)parse_json(text, "test.json", opt);
    } catch (const Error& e) {
        return e.message();
    }
    return "";
}

std::string nested(const std::string& open, const std::string& close, int depth, const std::string& inner = "1") {
    std::string s;
    for (int i = 0; i < depth; ++i) s += open;
    s += inner;
    for (int i = 0; i < depth; ++i) s += close;
    return s;
}

}  // namespace

TEST_CASE("parse_json: nesting beyond the limit is a clean error, never a stack overflow", "[core][json]") {
    CHECK(error_of(nested("[", "]", kMaxJsonDepth)).empty());
    CHECK_THAT(error_of(nested("[", "]", kMaxJsonDepth + 1)),
               Contains("test.json") && Contains("nested deeper than 128 levels") && Contains("line 1, column 129"));
    // 100k levels: arrays, objects, unterminated, and in an ordered (safetensors-header) parse.
    CHECK_THAT(error_of(nested("[", "]", 100000)), Contains("nested deeper"));
    CHECK_THAT(error_of(nested("{\"a\":", "}", 100000)), Contains("nested deeper"));
    CHECK_THAT(error_of(std::string(100000, '[')), Contains("nested deeper"));
    REQUIRE_THROWS_WITH(parse_ordered_json(nested("{\"a\":", "}", 100000), "header"), Contains("nested deeper"));
    // The limit is configurable; on a second line the position says so.
    CHECK_THAT(error_of("{\"a\": 1,\n \"b\": [[[1]]]}", {.max_depth = 3}), Contains("line 2, column 9"));
    // Brackets inside strings and comments are text, not nesting.
    CHECK(parse_json("{\"a\": \"" + std::string(1000, '[') + "\\\"[\"}", "t").at("a").get<std::string>().size() == 1002);
    CHECK(parse_json("// [[[[\n{\"a\": /* [[[[ */ 1}", "t", {.allow_comments = true, .max_depth = 2})["a"] == 1);
}

TEST_CASE("parse_json: duplicate keys are errors naming their path", "[core][json]") {
    CHECK_THAT(error_of(R"({"a": 1, "a": 2})"), Contains("test.json") && Contains("duplicate key 'a'"));
    CHECK_THAT(error_of(R"({"m": {"x": [{"k": 1}, {"k": 1, "j": [1, {}], "k": 2}]}})"), Contains("duplicate key 'm.x[1].k'"));
    CHECK_THAT(error_of(R"([[1, 2], {"q": {"r": 1}, "q": 0}])"), Contains("duplicate key '[1].q'"));
    // The same key in different objects is fine.
    const json j = parse_json(R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}]})", "t");
    CHECK(j["c"][1]["k"] == 4);
    REQUIRE_THROWS_WITH(parse_ordered_json(R"({"w": {}, "w": {}})", "header"), Contains("duplicate key 'w'"));
}

TEST_CASE("parse_json: syntax errors name the input, line and column, and stay short", "[core][json]") {
    const std::string e = error_of("{\n  \"a\": ,\n}");
    CHECK_THAT(e, Contains("test.json: not valid JSON at line 2, column 8"));
    CHECK_THAT(error_of("{} x"), Contains("not valid JSON"));
    CHECK_THAT(error_of(std::string("{}\0 x", 4)), Contains("not valid JSON at line 1, column 3: a NUL byte"));
    CHECK_THAT(error_of(""), Contains("not valid JSON"));
    // A megabyte-long unterminated string: the message quotes only its beginning.
    const std::string long_error = error_of("{\"a\": \"" + std::string(1 << 20, 'x'));
    CHECK_THAT(long_error, Contains("not valid JSON"));
    CHECK(long_error.size() < 400);
    // Comments only where allowed.
    CHECK_THAT(error_of("{\"a\": 1 // note\n}"), Contains("not valid JSON"));
    CHECK(error_of("{\"a\": 1 // note\n}", {.allow_comments = true}).empty());
    // Huge numbers parse (as doubles) or fail cleanly with a segcore::Error; nothing else escapes.
    for (const char* text : {"[1e999999]", "[-1e999999]", "[123456789012345678901234567890]", "[1e-999999]"}) {
        try {
            (void)parse_json(text, "t");
        } catch (const Error&) {
        }
    }
}

TEST_CASE("json_excerpt and JsonReader errors stay short for huge and deep values", "[core][json]") {
    json big = json::array();
    for (int i = 0; i < 100000; ++i) big.push_back(i);
    CHECK(json_excerpt(big).size() <= 103);
    CHECK_THAT(json_excerpt(big), Catch::StartsWith("[0,1,2,3,") && Catch::EndsWith("..."));
    CHECK(json_excerpt(json{{"a", 1}}) == R"({"a":1})");
    CHECK(json_excerpt(json(std::string(1 << 20, 'y'))).size() <= 103);
    json deep = 1;  // built directly, not parsed: excerpts must not recurse through all of it
    for (int i = 0; i < 100000; ++i) {
        json outer = json::array();
        outer.push_back(std::move(deep));  // moved, never copied: a copy would recurse
        deep = std::move(outer);
    }
    CHECK(json_excerpt(deep, 50).size() <= 53);

    json cfg = {{"n", big}, {"s", std::string(100000, 'z')}, {std::string(5000, 'k'), 1}};
    const auto message = [&](const std::function<void(JsonReader&)>& f) {
        try {
            JsonReader r(cfg, "cfg");
            f(r);
        } catch (const Error& e) {
            return e.message();
        }
        return std::string("no error");
    };
    for (const std::string& m : {message([](JsonReader& r) { r.integer("n", 0); }),
                                 message([](JsonReader& r) { r.string("s", "", {"a", "b"}); }),
                                 message([](JsonReader& r) { r.boolean("n", false); }),
                                 message([](JsonReader& r) { r.integers("s", {}); }), message([](JsonReader& r) {
                                     r.raw("n");
                                     r.raw("s");
                                     r.finish();
                                 })}) {
        CHECK_THAT(m, Contains("cfg."));
        CHECK(m.size() < 400);
    }
    REQUIRE_THROWS_WITH(JsonReader(big, "model"), Contains("expected a JSON object") && Contains("..."));
}
