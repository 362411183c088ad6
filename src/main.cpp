// Entry point of the `liveroom` program; everything happens in app/.
#include "app/app.hpp"

int main(int argc, char** argv) { return liveroom::app::main(argc, argv); }
