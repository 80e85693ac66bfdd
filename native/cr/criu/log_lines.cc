#include "cr/criu/log_lines.h"

#include "common/read_file.h"

namespace crftb::cr::criu {

std::string ReadLog(const std::string& path) {
  std::string text;
  if (path.empty() || !ReadWholeFile(path, &text, 16u << 20)) return "";
  return text;
}

std::string LogLineWith(const std::string& text, const char* needle) {
  size_t at = text.find(needle);
  if (at == std::string::npos) return "";
  size_t begin = text.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  size_t end = text.find('\n', at);
  std::string line = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  size_t error = line.find("Error (");
  return error == std::string::npos ? line : line.substr(error);
}

}  // namespace crftb::cr::criu
