#include "analysis/report_paths.hpp"

#include <fmt/core.h>

#include <cstdint>
#include <filesystem>
#include <set>

#include "paradnn/error.hpp"

namespace paradnn::analysis {

namespace fs = std::filesystem;

namespace {

bool safe_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (const unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace

std::string safe_name(const std::string& raw) {
  constexpr size_t kMaxLength = 160;  // well under the 255 bytes a file name may have
  std::string out;
  for (const char c : raw.substr(0, kMaxLength)) out += safe_char(c) ? c : '_';
  if (out.empty()) out = "_";
  if (out.front() == '.') out.front() = '_';
  if (out != raw) out += fmt::format("-{:08x}", fnv1a(raw));
  return out;
}

std::string path_inside(const std::string& dir, const std::string& relative) {
  const fs::path base = fs::absolute(dir).lexically_normal();
  const fs::path full = (base / relative).lexically_normal();
  const fs::path rel = full.lexically_relative(base);
  if (fs::path(relative).is_absolute() || rel.empty() || *rel.begin() == ".." || *rel.begin() == ".")
    throw InputError(fmt::format("refusing to write {}: outside the report folder {}", full.string(), dir));
  return (fs::path(dir) / relative).string();
}

std::vector<std::string> unique_prefixes(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  std::set<std::string> used;
  for (const std::string& p : paths) {
    const std::string base = safe_name(fs::path(p).stem().string());
    std::string name = base;
    for (int n = 2; !used.insert(name).second; ++n) name = fmt::format("{}-{}", base, n);
    out.push_back(name);
  }
  return out;
}

}  // namespace paradnn::analysis
