using PixelBox.Data;
using PixelBox.Tests.IO;

namespace PixelBox.Tests.Data;

/// <summary>Dataset folders holding things that are not regular files, where lists are expected.</summary>
public class MaskFolderDatasetInputTests
{
    static string Shapes(TempDir tmp)
    {
        var root = tmp.Combine("shapes");
        ShapesDataset.Generate(root, 6, 32, seed: 3);
        return root;
    }

    [Theory]
    [InlineData("images")]
    [InlineData("masks")]
    public void A_fifo_among_the_files_is_refused_when_the_folder_is_listed(string folder)
    {
        using var tmp = new TempDir();
        var root = Shapes(tmp);
        var fifo = SpecialFiles.Fifo(Path.Combine(root, folder, "zz.png"));
        var e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(root));
        Assert.Equal($"{fifo}: is a FIFO (named pipe), not a regular file", e.Message);
    }

    [Fact]
    public void A_folder_or_a_huge_file_where_a_list_is_expected_is_refused()
    {
        using var tmp = new TempDir();
        var root = Shapes(tmp);
        var classes = Path.Combine(root, "classes.txt");
        File.Delete(classes);
        Directory.CreateDirectory(classes);
        Assert.Equal($"{classes}: is a folder, not a file", Assert.Throws<InputException>(() => MaskFolderDataset.Open(root)).Message);
        Directory.Delete(classes);
        var split = Path.Combine(root, "train.txt");
        File.Delete(split);
        SpecialFiles.Sparse(split, 1L << 30);
        Assert.Equal($"{split}: file is too large (1 GB; a text list is at most 256 MB)", Assert.Throws<InputException>(() => MaskFolderDataset.Open(root, "train")).Message);
        var file = Directory.GetFiles(Path.Combine(root, "images"))[0];
        Assert.Equal($"{file}: is a file, not a dataset folder", Assert.Throws<InputException>(() => MaskFolderDataset.Open(file)).Message);
    }
}
