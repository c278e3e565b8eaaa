// swamp-bpf: keeps memory-hungry parallel builds from running out of memory.
#include <iostream>

#include "cli/commands.hpp"

int main(int argc, char** argv) { return swamp::run_cli(argc, argv, std::cout, std::cerr); }
