using System.Runtime.CompilerServices;

// Tests check the numpy/Python reproductions (pairwise mean, float formatting) directly.
[assembly: InternalsVisibleTo("PixelBox.Tests")]

// The fuzz harness calls the COCO readers' fast and general paths apart, to check that they agree.
[assembly: InternalsVisibleTo("PixelBox.Fuzz")]
