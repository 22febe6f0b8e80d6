using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("PixelBox.Tests")]

// the fuzz targets call the readers' parsing functions (VOC annotations, YOLO labels, data.yaml)
[assembly: InternalsVisibleTo("PixelBox.Fuzz")]
