print("spkdeblur")
