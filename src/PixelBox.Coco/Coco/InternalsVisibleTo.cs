using System.Runtime.CompilerServices;

// Tests check the numpy/Python reproductions (pairwise mean, float formatting) directly.
[assembly: InternalsVisibleTo("PixelBox.Tests")]
