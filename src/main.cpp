#include "cli/cli.h"

int main(int argc, char** argv) { return mailfort::cli::run(argc, argv); }
