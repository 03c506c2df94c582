// xunit v3 adds no implicit using for its own namespace.
global using Xunit;
