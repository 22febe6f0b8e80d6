using System.Runtime.CompilerServices;

// The test suite runs the bounded campaigns and uses the polygon oracle.
[assembly: InternalsVisibleTo("PixelBox.Tests")]
