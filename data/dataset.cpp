// Listing a split's files (list file, inline ids, or a folder scan) and the file-backed Dataset.
#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "data/file_util.h"
#include "data/image_io.h"
#include "data/label_map.h"

namespace segcore::data {

namespace {

namespace fs = std::filesystem;

const char* const kImageExtensions[] = {".png", ".jpg", ".jpeg", ".bmp"};

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The suffix of an image name that is not part of its id: image_suffix when given, else a known
// image extension (any case). Empty when the name is not an image.
std::string image_suffix_of(const std::string& name, const SplitSpec& s) {
    if (!s.image_suffix.empty()) return ends_with(name, s.image_suffix) ? s.image_suffix : "";
    const std::string l = lower(name);
    for (const char* ext : kImageExtensions)
        if (ends_with(l, ext)) return name.substr(name.size() - std::string(ext).size());
    return "";
}

const SplitSpec& find_split(const DatasetSpec& spec, const std::string& split) {
    const auto it = spec.splits.find(split);
    if (split_available(spec, split)) return it->second;
    std::string names;
    for (const std::string& name : split_names(spec)) names += (names.empty() ? "" : ", ") + name;
    if (it != spec.splits.end())  // an optional preset split whose files are not in this copy
        SEGCORE_THROW("dataset '", spec.name, "': split '", split, "' is not in this copy (no '",
                      join_path(spec.root, it->second.list.empty() ? it->second.images : it->second.list),
                      "'); its splits are: ", names);
    SEGCORE_THROW("dataset '", spec.name, "' has no split '", split, "'; its splits are: ", names);
}

// id -> paths, for list lines with one token and for inline ids.
SamplePaths paths_for_id(const DatasetSpec& spec, const SplitSpec& s, std::string id) {
    if (const std::string suffix = image_suffix_of(id, s); !suffix.empty()) id.resize(id.size() - suffix.size());
    const std::string images = join_path(spec.root, s.images);
    SamplePaths p;
    p.id = id;
    if (!s.image_suffix.empty()) {
        p.image = join_path(images, id + s.image_suffix);
    } else {
        p.image = join_path(images, id + ".*");  // stays when no file exists: lint reports it as missing
        for (const char* ext : {".png", ".jpg", ".jpeg", ".bmp", ".PNG", ".JPG", ".JPEG", ".BMP"}) {
            const std::string path = join_path(images, id + ext);
            if (file_exists(path)) {
                p.image = path;
                break;
            }
        }
    }
    if (!s.masks.empty()) p.mask = join_path(join_path(spec.root, s.masks), id + s.mask_suffix);
    return p;
}

std::vector<SamplePaths> from_list_file(const DatasetSpec& spec, const SplitSpec& s) {
    const std::string list_path = join_path(spec.root, s.list);
    std::ifstream in(list_path);
    SEGCORE_CHECK(in.good(), "dataset '", spec.name, "': cannot open the list file '", list_path, "'");
    std::vector<SamplePaths> out;
    std::string line;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::istringstream tokens(line);
        std::vector<std::string> t;
        for (std::string tok; tokens >> tok;) t.push_back(tok);
        if (t.empty() || t[0][0] == '#') continue;
        SEGCORE_CHECK(t.size() <= 2, "list file '", list_path, "' line ", line_no,
                      ": expected \"id\" or \"image mask\", got ", t.size(), " fields");
        if (t.size() == 1) {
            out.push_back(paths_for_id(spec, s, t[0]));
        } else {
            SamplePaths p;
            p.image = join_path(spec.root, t[0]);
            p.mask = join_path(spec.root, t[1]);
            p.id = fs::path(t[0]).stem().string();
            out.push_back(std::move(p));
        }
    }
    SEGCORE_CHECK(!in.bad(), "cannot read the list file '", list_path, "'");
    return out;
}

std::vector<SamplePaths> from_folder_scan(const DatasetSpec& spec, const SplitSpec& s) {
    const std::string images = join_path(spec.root, s.images);
    SEGCORE_CHECK(directory_exists(images), "dataset '", spec.name, "': the images folder '", images,
                  "' does not exist (root '", spec.root, "')");
    std::vector<std::string> names;  // relative to images, sorted
    try {
        names = list_folder_files(images, s.recursive);
    } catch (const Error& e) {
        SEGCORE_THROW("dataset '", spec.name, "': ", e.message());
    }
    std::vector<SamplePaths> out;
    for (const std::string& name : names) {
        const std::string suffix = image_suffix_of(name, s);
        if (suffix.empty()) continue;
        SamplePaths p;
        p.id = name.substr(0, name.size() - suffix.size());
        p.image = join_path(images, name);
        if (!s.masks.empty()) p.mask = join_path(join_path(spec.root, s.masks), p.id + s.mask_suffix);
        out.push_back(std::move(p));
    }
    return out;
}

FloatImage to_float(const Image& img) {
    FloatImage f;
    f.height = img.height;
    f.width = img.width;
    f.channels = img.channels;
    f.pixels.assign(img.pixels.begin(), img.pixels.end());
    return f;
}

Sample read_with(const LabelMapper& mapper, const DatasetSpec& spec, const SamplePaths& p) {
    Sample s;
    s.id = p.id;
    s.image_path = p.image;
    s.mask_path = p.mask;
    s.image = to_float(read_image(p.image, spec.image_channels));
    if (p.mask.empty()) return s;
    s.mask = mapper.read(p.mask);
    SEGCORE_CHECK(s.mask.height == s.image.height && s.mask.width == s.image.width, "image '", p.image, "' is ",
                  s.image.width, "x", s.image.height, " but its mask '", p.mask, "' is ", s.mask.width, "x",
                  s.mask.height, " (width x height)");
    return s;
}

class FileDataset final : public Dataset {
public:
    FileDataset(DatasetSpec spec, std::vector<SamplePaths> samples)
        : spec_(std::move(spec)), samples_(std::move(samples)), mapper_(spec_) {}

    int64_t size() const override { return int64_t(samples_.size()); }
    const DatasetSpec& spec() const override { return spec_; }
    Sample get(int64_t index) const override {
        SEGCORE_CHECK(index >= 0 && index < size(), "dataset '", spec_.name, "': sample index ", index,
                      " is out of range [0, ", size(), ")");
        return read_with(mapper_, spec_, samples_[size_t(index)]);
    }

private:
    DatasetSpec spec_;
    std::vector<SamplePaths> samples_;
    LabelMapper mapper_;
};

}  // namespace

std::vector<SamplePaths> list_samples(const DatasetSpec& spec, const std::string& split) {
    const SplitSpec& s = find_split(spec, split);
    if (!s.list.empty()) return from_list_file(spec, s);
    if (!s.ids.empty()) {
        std::vector<SamplePaths> out;
        for (const auto& id : s.ids) out.push_back(paths_for_id(spec, s, id));
        return out;
    }
    return from_folder_scan(spec, s);
}

std::vector<std::string> unpaired_masks(const DatasetSpec& spec, const std::string& split,
                                        const std::vector<SamplePaths>& samples) {
    const SplitSpec& s = find_split(spec, split);
    // Only a folder scan claims every file of its folders; a list or ids may name a subset on purpose.
    if (s.masks.empty() || !s.list.empty() || !s.ids.empty()) return {};
    const std::string masks = join_path(spec.root, s.masks);
    if (!directory_exists(masks)) return {};
    std::set<std::string> used;
    for (const auto& p : samples) used.insert(fs::path(p.mask).lexically_normal().string());
    std::vector<std::string> out;
    try {
        for (const std::string& rel : list_folder_files(masks, s.recursive)) {
            const std::string path = join_path(masks, rel);
            if (ends_with(rel, s.mask_suffix) && !used.count(fs::path(path).lexically_normal().string()))
                out.push_back(path);
        }
    } catch (const Error& e) {
        SEGCORE_THROW("dataset '", spec.name, "': ", e.message());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::shared_ptr<const Dataset> open_dataset(const DatasetSpec& spec, const std::string& split) {
    validate_dataset_spec(spec, "dataset '" + spec.name + "'");
    std::vector<SamplePaths> samples = list_samples(spec, split);
    SEGCORE_CHECK(!samples.empty(), "dataset '", spec.name, "': split '", split, "' has no samples (root '", spec.root,
                  "')");
    std::vector<std::string> missing;
    for (const auto& p : samples) {
        if (!file_exists(p.image)) missing.push_back(p.image);
        if (!p.mask.empty() && !file_exists(p.mask)) missing.push_back(p.mask);
    }
    if (!missing.empty()) {
        std::string list;
        for (size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", '" : "'") + missing[i] + "'";
        SEGCORE_THROW("dataset '", spec.name, "': split '", split, "': ", missing.size(),
                      " listed file(s) do not exist: ", list, missing.size() > 5 ? ", ..." : "",
                      " (run `segcore lint` on the spec for a full report)");
    }
    return std::make_shared<FileDataset>(spec, std::move(samples));
}

Sample read_sample(const DatasetSpec& spec, const SamplePaths& paths) {
    return read_with(LabelMapper(spec), spec, paths);
}

}  // namespace segcore::data
