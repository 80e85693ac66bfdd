#include "ftb/schema_file.h"

#include <sstream>
#include <vector>

#include "common/read_file.h"
#include "ftb/codes.h"
#include "ftb/names.h"

namespace crftb::ftb {
namespace {

Failure Invalid(const std::string& path, const std::string& why) {
  return CodeFailure(kErrInvalidSchemaFile, "schema file " + path + ": " + why);
}

}  // namespace

Failure ParseSchemaFile(const std::string& path, const std::string& own_event_space,
                        const std::function<Failure(const std::string&, const std::string&)>& declare) {
  std::string text;
  if (!ReadWholeFile(path, &text)) return Invalid(path, "cannot be read");
  std::istringstream in(text);
  std::vector<std::string> words;
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream split(line);
    for (std::string word; split >> word;) words.push_back(word);
  }
  enum { kOutside, kSpace, kName, kSeverity } state = kOutside;
  bool saw_block = false;
  std::string name;
  for (const std::string& word : words) {
    switch (state) {
      case kOutside:
        if (word == "start") {
          state = kSpace;
          saw_block = true;
        }
        break;  // FTB warns about other words and goes on
      case kSpace:
        if (word == "end") {
          state = kOutside;
        } else if (!ParseEventSpace(word, nullptr).ok() || !SameName(word, own_event_space)) {
          return Invalid(path, "event space '" + word + "' is not the client's (" + own_event_space + ")");
        } else {
          state = kName;
        }
        break;
      case kName:
        if (word == "end") {
          state = kOutside;
        } else {
          name = word;
          state = kSeverity;
        }
        break;
      case kSeverity:
        if (word == "end") {
          state = kOutside;  // the dangling name is dropped, as in FTB
          break;
        }
        if (!IsSeverity(word)) {
          return CodeFailure(kErrInvalidField, "schema file " + path + ": severity '" + word + "' of '" + name +
                                                   "' is not one of fatal, info, warning, error");
        }
        if (Failure bad = declare(name, word); !bad.ok()) return bad;
        state = kName;
        break;
    }
  }
  if (!saw_block) return Invalid(path, "has no 'start' block");
  if (state != kOutside) return Invalid(path, "ends inside a block (missing 'end')");
  return Failure::None();
}

}  // namespace crftb::ftb
