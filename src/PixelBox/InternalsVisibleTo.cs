using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("PixelBox.Tests")]
