using PixelBox.Cli;

return CliApp.Run(args);
